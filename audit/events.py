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
    COVENANT_PROPOSE = "covenant.propose"
    COVENANT_APPROVE = "covenant.approve"
    COVENANT_STATUS = "covenant.status"
    COVENANT_DIFF = "covenant.diff"
    COVENANT_KEY_ADD = "covenant.key_add"
    COVENANT_KEY_LIST = "covenant.key_list"
    COVENANT_KEY_REVOKE = "covenant.key_revoke"
    EMERGENCY_OPEN = "emergency.open"
    EMERGENCY_LIST = "emergency.list"
    EMERGENCY_REVIEW = "emergency.review"
    JOB_RUN = "job.run"
    JOB_LIST = "job.list"
    STAFF_EMAIL = "staff.email"
    REQUEST_OPEN = "request.open"
    REQUEST_READ = "request.read"
    REQUEST_LIST = "request.list"
    REQUEST_REVIEW = "request.review"
    REQUEST_DECIDE = "request.decide"
    REQUEST_CARRY_OUT = "request.carry_out"
    REQUEST_CLOSE = "request.close"
    REQUEST_WITHDRAW = "request.withdraw"
    REQUEST_REVERSE = "request.reverse"
    CLIENT_EXPORT = "client.export"
    REQUEST_LETTER = "request.letter"
    CLIENT_PROCESSING_STOPPED = "client.processing_stopped"
    CLIENT_PROCESSING_RESTARTED = "client.processing_restarted"
    RECORD_CORRECT = "record.correct"
    RECORD_SHIELD = "record.shield"
    RECORD_DELETE = "record.delete"
    CLIENT_KEY_RENEW = "keys.renew_client"
    NOTIFICATION_LIST = "notification.list"
    NOTIFICATION_ACKNOWLEDGE = "notification.acknowledge"
    REQUEST_REMINDED = "request.reminded"
    REQUEST_ESCALATED = "request.escalated"
    NOTICE_LIST = "notice.list"
    NOTICE_DISMISS = "notice.dismiss"
    RETENTION_PURGE = "retention.purge"
    RETENTION_RUN = "retention.run"
    RETENTION_HOLD = "retention.hold"
    RETENTION_HOLD_RELEASE = "retention.hold_release"
    RETENTION_HOLD_LIST = "retention.hold_list"
    RETENTION_DECISION = "retention.decision"
    RETENTION_EXTRACT = "retention.extract"
    RETENTION_NOTICED = "retention.noticed"
    REGISTER_EXPORT = "register.export"
    REPORT_MONTHLY = "report.monthly"
    STATISTICS_EXPORT = "statistics.export"
    DISCLOSURE_APPROVE = "disclosure.approve"
    DISCLOSURE_LIST = "disclosure.list"
    DISCLOSURE_REVOKE = "disclosure.revoke"
    CLIENT_INFORM = "client.inform"
    TASK_RAISED = "task.raised"
    TASK_LIST = "task.list"
    CONSENT_RECORD = "consent.record"
    CONSENT_LIST = "consent.list"
    CONSENT_WITHDRAW = "consent.withdraw"


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
    activity: str | None = None
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
