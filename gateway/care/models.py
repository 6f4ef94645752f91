from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, LargeBinary, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class CareLink(Base):
    """A staff member's membership of a client's care team, from ``since`` up to ``until``.

    Instrument 2e: "all officials involved with one client have access to that client's data, and
    nobody else". The reasons are free text written by staff and may say something about the client,
    so they are encrypted with the client's key like the file itself.
    """

    __tablename__ = "care_link"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    ended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    end_reason: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_version: Mapped[int]

    __table_args__ = (Index(None, "client_id", "staff_id", "since"), Index(None, "staff_id"))
