"""Art. 10: the tasks the duty to inform raises for a client manager."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base

INFORM_CLIENT = "inform_client"


class ClientTask(Base):
    """A task for the client's client manager: ``inform_client`` when a partner's data arrived before the
    client was informed (art. 10). One open task per client and kind; it closes when the informed moment
    is recorded. Ids, codes and moments only."""

    __tablename__ = "client_task"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    assignee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source_party_id: Mapped[str] = mapped_column(String(64), ForeignKey("party.id"))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "assignee_id", "closed_at"), Index(None, "client_id", "kind", "closed_at"))
