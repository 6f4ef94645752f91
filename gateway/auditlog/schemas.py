from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer


class AuditEventRead(BaseModel):
    """One event of the trail, as NEN 7513 asks: who, for which party, which client (by pseudonym),
    what on what, when, from where, for which purpose, the outcome, and the authority it rested on."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    id: uuid.UUID
    occurred_at: dt.datetime
    action: str
    outcome: str
    reason: str
    actor_id: str | None
    actor_roles: str | None
    actor_party: str | None
    on_behalf_of: str | None
    client_pseudonym: str | None
    object_type: str | None
    object_id: str | None
    categories: str | None
    purpose: str | None
    authority: str | None
    covenant_version: str | None
    access_point: str | None
    source_system: str | None
    request_id: str | None
    detail: dict[str, Any] | None
    traceparent: str | None
    prev_hash: bytes
    hash: bytes

    @field_serializer("prev_hash", "hash")
    def _hex(self, value: bytes) -> str:
        return value.hex()
