"""The hash chain, pure: how an event is serialised and linked to the one before it.

``hash(n) = SHA-256(hash(n-1) || canonical(event n))``, where ``canonical`` is JSON with sorted keys
over every recorded field, the event's own position (``seq``) and its predecessor's hash included.
Changing, removing, inserting or reordering any event changes a hash that the next event (or the
recomputation) no longer matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any, Mapping

GENESIS = bytes(32)

CHAINED_FIELDS = (
    "seq",
    "id",
    "occurred_at",
    "action",
    "outcome",
    "reason",
    "actor_id",
    "actor_roles",
    "actor_party",
    "on_behalf_of",
    "client_pseudonym",
    "object_type",
    "object_id",
    "categories",
    "purpose",
    "authority",
    "covenant_version",
    "access_point",
    "source_system",
    "request_id",
    "detail",
    "prev_hash",
)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("audit moments must be zone-aware")
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def canonical(values: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers."""
    document = {name: _plain(values.get(name)) for name in CHAINED_FIELDS}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: bytes, values: Mapping[str, Any]) -> bytes:
    """The hash of an event whose predecessor's hash is ``prev_hash``."""
    return hashlib.sha256(prev_hash + canonical(values)).digest()
