from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class Party(Base):
    """A covenant party (art. 2); mirrored from the covenant document in force."""

    __tablename__ = "party"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))


class Staff(Base):
    """A staff member working under a party's responsibility (art. 3, "medewerker")."""

    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    handle: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Where deadline reminders and escalations are mailed (gateway.rights.deadlines); staff data, not
    # client data, so not encrypted, but never logged or put in the trail.
    email: Mapped[str | None] = mapped_column(String(254))
