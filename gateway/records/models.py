from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class Entry(Base):
    """One entry of a client's file: an intake-form section, a care-plan goal or action, a note, a contact.

    The content is encrypted with the client's data key; the associated data binds the ciphertext to
    this client, this entry, its kind and its category, so a ciphertext copied to another row, or a
    row relabelled to a more permissive category, fails to decrypt. The source party's own reference
    is kept inside the ciphertext and, for look-ups (art. 9.2: delete when the source deletes), as a
    keyed blind index: it may be a number that identifies the client.
    """

    __tablename__ = "entry"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"))
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    source_party_id: Mapped[str] = mapped_column(ForeignKey("party.id"))
    source_reference_index: Mapped[str | None] = mapped_column(String(64))
    confidentiality_ground: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_version: Mapped[int]
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Art. 13: shielded after a correction request; from then on hidden from all but the client manager.
    shielded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(None, "client_id", "created_at", "id"),
        Index(None, "source_party_id", "source_reference_index"),
    )
