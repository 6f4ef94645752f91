"""The audit trail's own tables, on their own declarative base (the gateway's models never mix in)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, MetaData, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from audit.types import NAMING_CONVENTION, UTCDateTime


class AuditBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AuditEvent(AuditBase):
    """One attempt, allowed or refused, chained to the one before it by hash.

    Append-only: the gateway never updates or deletes a row; ``verify`` detects anyone who does.
    """

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_roles: Mapped[str | None] = mapped_column(String(200))
    actor_party: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    client_pseudonym: Mapped[str | None] = mapped_column(String(32))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    categories: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(64))
    authority: Mapped[str | None] = mapped_column(String(100))
    covenant_version: Mapped[str | None] = mapped_column(String(100))
    access_point: Mapped[str | None] = mapped_column(String(200))
    source_system: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The partner's W3C trace context (``00-<trace-id>-<parent-id>-<flags>``), so that the partner's
    # own log and this trail can be joined; added in 0002http, chained only when set (audit.chain).
    traceparent: Mapped[str | None] = mapped_column(String(55))
    # The processing activity of the processing register (art. 15) this event served, as the Logboek
    # Dataverwerkingen standard links a log entry to its register entry; added in 0012activity, chained
    # only when set, so the events written before it keep their hashes.
    activity: Mapped[str | None] = mapped_column(String(100))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index(None, "client_pseudonym", "seq"),
        Index(None, "actor_id", "seq"),
        Index(None, "occurred_at", "seq"),  # review by period, newest first (audit.query, bench/audit_trail.py)
    )


class AuditCheckpoint(AuditBase):
    """A signed checkpoint: the first ``tree_size`` events have Merkle root ``root_hash`` (audit.checkpoint).

    Append-only like the trail. ``frontier`` is not signed: it is the right edge of the tree
    (audit.merkle.Frontier), kept so that the next seal reads only the events after this one; the next
    seal trusts it only if it yields the signed ``root_hash``.
    """

    __tablename__ = "audit_checkpoint"

    tree_size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                           autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    frontier: Mapped[list[str]] = mapped_column(JSON)
