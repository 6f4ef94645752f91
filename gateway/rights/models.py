"""Clients' rights requests (art. 11-14) and the notifications a correction sends (GDPR art. 19)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class Kind(enum.StrEnum):
    ACCESS = "access"          # art. 11-12
    CORRECTION = "correction"  # art. 13
    OBJECTION = "objection"    # art. 14


class Status(enum.StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    CARRIED_OUT = "carried_out"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Correction(enum.StrEnum):
    """What a correction asks for, and what a decision says will be done (art. 13)."""

    IMPROVE = "improve"
    COMPLETE = "complete"
    DELETE = "delete"
    SHIELD = "shield"


class Outcome(enum.StrEnum):
    GRANTED = "granted"
    GRANTED_IN_PART = "granted_in_part"
    REFUSED = "refused"
    JUSTIFIED = "justified"      # an objection (art. 14)
    UNJUSTIFIED = "unjustified"


class RightsRequest(Base):
    """A client's request, handled by the client's client manager on behalf of the controller.

    Deadlines are data (DESIGN.md): ``decision_due`` is fixed from the covenant's term when the
    request is recorded, ``execution_due`` when a correction is granted. What a written decision
    needs (outcome, reasons, dates, what will be done) is kept so the letter can be produced. The
    client's statement (a correction) or grounds (an objection) and the reasons are free text about
    the client: encrypted with the client's key like the file.
    """

    __tablename__ = "rights_request"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    received_on: Mapped[dt.date] = mapped_column(Date)
    decision_due: Mapped[dt.date] = mapped_column(Date)
    execution_due: Mapped[dt.date | None] = mapped_column(Date)
    # A correction: which entry (no foreign key: a granted deletion destroys it) and what is asked.
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    correction: Mapped[str | None] = mapped_column(String(16))
    statement: Mapped[bytes | None] = mapped_column(LargeBinary)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[bytes | None] = mapped_column(LargeBinary)
    carry_out: Mapped[str | None] = mapped_column(String(16))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    copy_produced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    carried_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    carried_out_late: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversal_reasons: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_version: Mapped[int]

    # A client's requests; the queue looks up the open ones by their deadline.
    __table_args__ = (Index(None, "client_id", "received_on"), Index(None, "status", "decision_due"))


class Notification(Base):
    """GDPR art. 19: a party that received content a correction changed is told so, through its
    system, until it acknowledges. Ids and codes only: the party corrects its own copy from them."""

    __tablename__ = "rights_notification"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rights_request.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"))
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    correction: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index(None, "party_id", "acknowledged_at", "created_at"), Index(None, "request_id"))


class Deadline(enum.StrEnum):
    DECISION = "decision"    # art. 13.2, 14: the decision on a request
    EXECUTION = "execution"  # art. 13.3: carrying out a granted correction
    RETENTION = "retention"  # art. 9.3: the end of the client's retention term (no request)


class NoticeKind(enum.StrEnum):
    REMINDER = "reminder"      # N days before a deadline, to the client manager
    ESCALATION = "escalation"  # a deadline passed with the step still to do, to the privacy officers too


class DeadlineNotice(Base):
    """A reminder or escalation about one deadline of one request, or a reminder that a client's
    retention term ends (``deadline`` ``retention``, no request), sent once.

    The unique key (request, deadline, due date, kind, days) is what makes it once: the row is
    inserted in the same transaction as the event that records sending it, so a rerun, a second
    instance or a manual run beside the scheduler cannot send it again. A retention notice has no
    request, and a unique key counts every NULL as distinct, so its key is a partial unique index on
    (client, due date, kind, days) over the rows without a request: once per client and term end (a
    later contact moves the term end, and the new date gets its own notice). ``days``: how many days
    before the deadline a reminder is for; 0 for the escalation (one per deadline). Ids, codes and
    dates only.
    """

    __tablename__ = "deadline_notice"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rights_request.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    deadline: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("request_id", "deadline", "due_on", "kind", "days"),
                      Index("uq_deadline_notice_client_due_on_kind_days", "client_id", "due_on", "kind", "days",
                            unique=True, sqlite_where=text("request_id IS NULL"),
                            postgresql_where=text("request_id IS NULL")))


class Notice(Base):
    """A deadline notice as one staff member receives it: listed in the web UI until dismissed, and
    e-mailed when the gateway has an SMTP server and the staff member an address.

    ``mailed_at`` stays empty until the SMTP server has accepted the message; a pass that finds it
    empty (the server was down) tries again, counting ``mail_attempts``.
    """

    __tablename__ = "notice"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    deadline_notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadline_notice.id"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("deadline_notice_id", "staff_id"), Index(None, "staff_id", "dismissed_at"),
                      Index(None, "mailed_at"))
