"""The audit trail: append-only, hash-chained events with the fields NEN 7513 asks for.

A library with its own tables; it never imports the gateway or the covenant.
"""

from audit.events import AuditAction, EventDraft, Outcome, SealedEvent
from audit.checkpoint import Checkpoint, InclusionProof
from audit.models import AuditBase, AuditCheckpoint, AuditEvent
from audit.verify import Sealed, VerifyReport, verify_chain, verify_sealed
from audit.writer import AuditUnavailable, Committed, GroupCommitter, UnitOfWork

__all__ = [
    "AuditAction",
    "AuditBase",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditUnavailable",
    "Checkpoint",
    "Committed",
    "EventDraft",
    "GroupCommitter",
    "InclusionProof",
    "Outcome",
    "Sealed",
    "SealedEvent",
    "UnitOfWork",
    "VerifyReport",
    "verify_chain",
    "verify_sealed",
]
