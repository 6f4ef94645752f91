from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    PROCESSING_STOPPED = "processing_stopped"  # art. 14: a justified objection
    PURGING = "purging"  # art. 9: the purge has begun to destroy the client (its key may be gone already)


class Client(Base):
    """A client (betrokkene), known to the gateway by an opaque id and a pseudonym only.

    No name and no BSN: a BSN is looked up through ``bsn_index``, a keyed HMAC that means nothing
    without the blind-index key (which lives in the key folder, not here).
    """

    __tablename__ = "client"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True)
    bsn_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    informed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Art. 10: how the client was informed (in_person, letter, other) and by whom, when recorded so.
    informed_how: Mapped[str | None] = mapped_column(String(16))
    informed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32), default=ClientStatus.ACTIVE)
    registered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    # Instrument 2: one client manager per client, who builds the file and grants partners access.
    client_manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
