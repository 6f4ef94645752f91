"""The covenant's versions, the parties' registered signing keys and their approvals (art. 16)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class CovenantVersion(Base):
    """One proposed version of a covenant: its canonical document (RFC 8785 JSON) and that document's
    SHA-256. ``effective_at`` is set once every party has approved: the moment the last approval
    arrived, or the later ``effective_from`` given at the proposal. Rows are never deleted: the full
    history stays, and the version in force at a moment is the one with the latest ``effective_at``
    not after it."""

    __tablename__ = "covenant_version"
    __table_args__ = (UniqueConstraint("covenant_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    covenant_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    proposed_by: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    effective_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


class CovenantPartyKey(Base):
    """A party's Ed25519 public key for approving versions; ``id`` is its fingerprint
    (``ed25519:`` and hex of the SHA-256 of the raw key). Revoked keys stay, so that past approvals
    can still be checked; a revoked key approves nothing new."""

    __tablename__ = "covenant_party_key"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    party: Mapped[str] = mapped_column(String(64), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CovenantApproval(Base):
    """One party's signed approval of one version; one per party per version."""

    __tablename__ = "covenant_approval"
    __table_args__ = (UniqueConstraint("version_id", "party"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("covenant_version.id"))
    party: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(ForeignKey("covenant_party_key.id"))
    signature: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
