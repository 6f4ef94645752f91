"""What an audit event says (NEN 7513), and the names of the actions it can record."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence


class AuditAction(enum.StrEnum):
    """Every kind of event the trail records, in one place."""

    RECORD_READ = "record.read"
    RECORD_LIST = "record.list"
    RECORD_WRITE = "record.write"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_EXPORT = "audit.export"
    UI_SIGN_IN = "ui.sign_in"
    UI_SIGN_OUT = "ui.sign_out"
    AUDIT_SEAL = "audit.seal"
    AUDIT_CHECKPOINTS = "audit.checkpoints"
    AUDIT_PROVE = "audit.prove"
    AUTH_REJECTED = "auth.rejected"
    REQUEST_REJECTED = "request.rejected"
    REQUEST_REPLAYED = "request.replayed"
    CLIENT_REGISTER = "client.register"
    CLIENT_READ = "client.read"
    CLIENT_LIST = "client.list"
    TEAM_READ = "team.read"
    LINK_GRANT = "link.grant"
    LINK_END = "link.end"
    EVENT_CONTACT = "event.contact"
    EVENT_SOURCE_DELETED = "event.source_deleted"
    TOKEN_ISSUE = "token.issue"
    TOKEN_GRANT = "token.grant"
    TOKEN_REVOKE = "token.revoke"
    TOKEN_INTROSPECT = "token.introspect"
    PARTNER_REGISTER = "partner.register"
    PARTNER_DEACTIVATE = "partner.deactivate"
    PARTNER_LIST = "partner.list"
    SIGNING_KEYS_ROTATE = "keys.rotate_signing"
    KEYS_ROTATE = "keys.rotate"
    DEMO_SEED = "demo.seed"
    SERVICE_START = "service.start"
    EMERGENCY_OPEN = "emergency.open"
    EMERGENCY_LIST = "emergency.list"
    EMERGENCY_REVIEW = "emergency.review"


class Outcome(enum.StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class EventDraft:
    """One attempt, before it takes its place in the chain.

    Holds identifiers and codes only: a client appears by pseudonym, never by name, BSN or content,
    because the trail outlives the client's file (NEN 7513 keeps it five years from writing).
    """

    action: AuditAction
    outcome: Outcome
    reason: str
    occurred_at: dt.datetime
    actor_id: str | None = None
    actor_roles: str | None = None
    actor_party: str | None = None
    on_behalf_of: str | None = None
    client_pseudonym: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    categories: str | None = None
    purpose: str | None = None
    authority: str | None = None
    covenant_version: str | None = None
    access_point: str | None = None
    source_system: str | None = None
    request_id: str | None = None
    detail: Mapping[str, Any] | None = None
    traceparent: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def failed(self, reason: str) -> "EventDraft":
        """The same attempt, recorded as having failed after it was permitted."""
        return replace(self, outcome=Outcome.ERROR, reason=reason)


def failed(events: Sequence[EventDraft], reason: str) -> list[EventDraft]:
    """What was permitted did not happen: permits become errors with ``reason``; refusals stay refusals."""
    return [event.failed(reason) if event.outcome == Outcome.PERMIT else event for event in events]


@dataclass(frozen=True, slots=True)
class SealedEvent:
    seq: int
    id: uuid.UUID
    hash: bytes
