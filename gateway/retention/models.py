"""The legal hold: a recorded reason to keep one client out of the retention purge (art. 9)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class LegalHold(Base):
    """A hold on one client's file: while it is in force (placed, not released, and ``until_on`` not
    passed) the purge skips the client and counts it as held.

    The reason is free text about the client, so it is sealed with the client's data key like the file
    (``key_version``), and goes with the file: a hold is about data that exists, and once it is
    released and the file destroyed, nothing of it should outlive the file but its audit events.
    ``until_on`` is the last day the hold is in force (inclusive, in the covenant's time zone); none:
    until released.
    """

    __tablename__ = "legal_hold"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    key_version: Mapped[int]
    placed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    until_on: Mapped[dt.date | None] = mapped_column(Date)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    # The purge looks up the holds in force per client; the API lists a client's holds.
    __table_args__ = (Index(None, "client_id", "released_at"),)
