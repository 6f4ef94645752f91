"""The unprotected baseline: the same FastAPI + SQLAlchemy read, with no protection at all.

One sync route reads one row by id with a Session and returns it as JSON through the same response
model as the gateway's route (``EntryRead``), so the difference to the gateway is the protection:
no token check, no decision, no decryption, no audit event, no commit. The rows are the gateway's
entries in plaintext (``bench_plain_entry``, created in the same database by the benchmark), and
the engine comes from the gateway's own factory, so SQLite runs with the same pragmas and
PostgreSQL with the same pool.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import FastAPI, HTTPException
from sqlalchemy import JSON, Engine, MetaData, String, Uuid, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from audit.types import UTCDateTime
from gateway.db import create_db_engine
from gateway.records.schemas import EntryRead


class PlainBase(DeclarativeBase):
    metadata = MetaData()


class PlainEntry(PlainBase):
    __tablename__ = "bench_plain_entry"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    source_party: Mapped[str] = mapped_column(String(64))
    source_reference: Mapped[str | None] = mapped_column(String(200))
    confidentiality_ground: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)


def create_plain_table(engine: Engine) -> None:
    PlainBase.metadata.create_all(engine)


def create_plain_app(data_url: str) -> FastAPI:
    engine = create_db_engine(data_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    app = FastAPI(title="Unprotected baseline")
    app.state.engine = engine

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/plain/clients/{client_id}/entries/{entry_id}", response_model=EntryRead)
    def read_entry(client_id: uuid.UUID, entry_id: uuid.UUID) -> PlainEntry:
        with sessions() as session:
            entry = session.scalars(select(PlainEntry).where(PlainEntry.id == entry_id,
                                                              PlainEntry.client_id == client_id)).first()
        if entry is None:
            raise HTTPException(status_code=404, detail="no such entry")
        return entry

    return app
