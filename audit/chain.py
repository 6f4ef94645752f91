"""The hash chain, pure: how an event is serialised and linked to the one before it.

``hash(n) = SHA-256(hash(n-1) || canonical(event n))``, where ``canonical`` is JSON with sorted keys
over every recorded field, the event's own position (``seq``) and its predecessor's hash included.
Changing, removing, inserting or reordering any event changes a hash that the next event (or the
recomputation) no longer matches.

The form is versioned by addition. ``CHAINED_FIELDS`` are the fields of the first version, always in
the canonical form (``null`` when empty). A field added later (``OPTIONAL_CHAINED_FIELDS``) is in the
form only when it is set: an event written before the field existed has it empty and hashes exactly
as it did when it was written, and one that has it set cannot lose it, gain it or change it unseen.
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

# Added after the first version: covered by the hash only when set (see the module's docstring).
OPTIONAL_CHAINED_FIELDS = (
    "traceparent",  # 0002http
    "activity",  # 0012activity: the processing activity of the register (art. 15) the event served
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
    for name in OPTIONAL_CHAINED_FIELDS:
        value = values.get(name)
        if value is not None:
            document[name] = _plain(value)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: bytes, values: Mapping[str, Any]) -> bytes:
    """The hash of an event whose predecessor's hash is ``prev_hash``."""
    return hashlib.sha256(prev_hash + canonical(values)).digest()
