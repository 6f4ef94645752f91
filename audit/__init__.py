"""The audit trail: append-only, hash-chained events with the fields NEN 7513 asks for.

A library with its own tables; it never imports the gateway or the covenant.
"""

from audit.events import AuditAction, EventDraft, Outcome, SealedEvent
from audit.models import AuditBase, AuditEvent
from audit.verify import VerifyReport, verify_chain
from audit.writer import AuditUnavailable, Committed, GroupCommitter, UnitOfWork

__all__ = [
    "AuditAction",
    "AuditBase",
    "AuditEvent",
    "AuditUnavailable",
    "Committed",
    "EventDraft",
    "GroupCommitter",
    "Outcome",
    "SealedEvent",
    "UnitOfWork",
    "VerifyReport",
    "verify_chain",
]
