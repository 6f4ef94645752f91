from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class ReviewOutcome:
    """What a privacy officer found an emergency opening to be."""

    JUSTIFIED = "justified"
    UNJUSTIFIED = "unjustified"


class EmergencyAccess(Base):
    """A break-the-glass window: a staff member without a care-team link opened a client's file in an
    emergency, from ``since`` up to (not including) ``until``, for a stated reason; reviewed afterwards
    by a privacy officer.

    The reason and the review note are free text that may say something about the client, so they are
    encrypted with the client's key like the file itself (and go with it when the key is destroyed).
    """

    __tablename__ = "emergency_access"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    review_outcome: Mapped[str | None] = mapped_column(String(16))
    review_note: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_version: Mapped[int]

    # The facts query looks up a member's latest window on a client; the review lists the pending ones.
    __table_args__ = (Index(None, "client_id", "staff_id", "since"), Index(None, "reviewed_at", "since"))
