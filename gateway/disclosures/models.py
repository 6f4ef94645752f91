"""Art. 5: a public prosecutor's approval to disclose one criminal entry to one party."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class CriminalDisclosure(Base):
    """One approval: ``entry_id`` (a criminal entry of ``client_id``) may be read by the linked staff of
    ``recipient_party_id`` from ``approved_at`` until ``revoked_at``. Nothing here is personal: ids and
    moments. ``entry_id`` carries no foreign key: an entry deleted at its source or on a correction goes
    without waiting for its approvals, which then disclose nothing."""

    __tablename__ = "criminal_disclosure"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    recipient_party_id: Mapped[str] = mapped_column(String(64), ForeignKey("party.id"))
    approved_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    approved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    __table_args__ = (Index(None, "entry_id", "recipient_party_id", "revoked_at"),
                      Index(None, "client_id", "recipient_party_id"))
