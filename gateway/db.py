"""Engines, the gateway's declarative base, and migrations.

SQLite is the embedded default and PostgreSQL the production engine. On SQLite the gateway runs
WAL with ``synchronous=FULL`` (a commit is on disk before the answer), ``secure_delete=ON`` (a
deleted row, a destroyed data key above all, is overwritten, not left in free pages) and foreign
keys on; the gateway issues ``BEGIN`` itself so that savepoints and transactional DDL behave, and
the one connection that writes begins with ``BEGIN IMMEDIATE`` so writers queue on SQLite's lock
instead of failing halfway through a transaction. Every other connection is read-only. The data database's writer does not checkpoint the WAL
itself (a checkpoint inside a commit makes that request wait for it); a :class:`Checkpointer` thread
does. The key store, written rarely, checkpoints as SQLite does by default.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase

from audit.types import NAMING_CONVENTION

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_PG_MIGRATION_LOCK = 0x6D69677261  # "migra"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_db_engine(url: str, *, writer: bool = False, pool_size: int = 20,
                     checkpoint_in_commits: bool = True) -> Engine:
    """An engine for the data or key-store database.

    Statement parameters are kept out of exception messages and logs (``hide_parameters``): they
    may be pseudonyms, blind indexes or ciphertext, and the logs must not hold them.

    Only a ``writer`` engine writes: its SQLite connections take the write lock at ``BEGIN
    IMMEDIATE``; with ``checkpoint_in_commits`` off they leave the WAL to a :class:`Checkpointer`. The others are read-only (SQLite ``query_only``, PostgreSQL read-only sessions) and
    run each statement on its own, outside an explicit transaction: the gateway's reads are single
    statements, and handing such a connection back costs no ``ROLLBACK`` round trip.
    """
    if not is_sqlite(url):
        # The writer's connection is used back to back by one thread; a ping before each use would
        # cost a round trip per commit, and a dropped connection fails that commit closed anyway.
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=not writer,
                               hide_parameters=True, **({} if writer else {"isolation_level": "AUTOCOMMIT"}))
        if not writer:
            @event.listens_for(engine, "connect")
            def _read_only(dbapi_connection, _record) -> None:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SET default_transaction_read_only = on")
        return engine

    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_size=1 if writer else pool_size, max_overflow=0 if writer else pool_size,
                           connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

    pragmas = ["journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "foreign_keys=ON", "busy_timeout=30000"]
    if not writer:
        pragmas.append("query_only=ON")
    elif not checkpoint_in_commits:
        pragmas.append("wal_autocheckpoint=0")

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if writer:
        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:
            connection.connection.driver_connection.execute("BEGIN IMMEDIATE")

    return engine


class Checkpointer:
    """Folds a SQLite database's WAL into its file every ``interval`` seconds, on a thread of its own.

    PASSIVE: it copies what it can without waiting for readers or blocking the writer, so commits
    never pay for a checkpoint (with SQLite's automatic checkpoint, every thousandth commit or so
    did, and set the tail latency).
    """

    def __init__(self, url: str, *, interval: float = 1.0) -> None:
        self._path = url.removeprefix("sqlite:///")
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)

    def start(self) -> "Checkpointer":
        self._thread.start()
        return self

    def checkpoint(self, connection: sqlite3.Connection) -> tuple[int, int]:
        """One passive checkpoint: (frames in the WAL, frames now in the database file)."""
        _busy, frames, folded = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, folded

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)

    def _run(self) -> None:
        connection = self.connect()
        try:
            while not self._stop.wait(self._interval):
                self.checkpoint(connection)
        finally:
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class WalNotEmptied(RuntimeError):
    """SQLite did not empty a WAL in time: what was deleted may still be in it. Never carries data."""


def empty_wal(connection: sqlite3.Connection, *, patience: float = 60.0, pause: float = 0.05) -> None:
    """``PRAGMA wal_checkpoint(TRUNCATE)`` until SQLite reports it done; :class:`WalNotEmptied` after
    ``patience`` seconds.

    SQLite does not raise when it cannot: it answers ``busy`` and leaves the WAL as it was, with the
    page images of what was just deleted. It answers so at once, without calling the busy handler,
    while another connection checkpoints (the :class:`Checkpointer` thread's passive checkpoint every
    second, which takes long on a large WAL: after the purge of 100,000 clients a 3 GB WAL was left
    in place), and after the busy timeout while a reader still uses the WAL. So the answer is read,
    and the checkpoint tried again."""
    deadline = time.monotonic() + patience
    while True:
        busy, _frames, _folded = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return
        if time.monotonic() >= deadline:
            raise WalNotEmptied("SQLite kept answering busy to wal_checkpoint(TRUNCATE)")
        time.sleep(pause)


def truncate_wal(engine: Engine) -> None:
    """SQLite: fold the WAL into the file and empty it, so that what was overwritten or deleted (a
    wrapped data key above all) is gone from the WAL too (:func:`empty_wal`). A no-op on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        empty_wal(raw.driver_connection)
    finally:
        raw.close()


def truncate_data_wal(url: str) -> None:
    """:func:`truncate_wal` for the data database, whose writer engine the caller may not hold: on a
    connection of its own (as the :class:`Checkpointer`'s). A no-op on PostgreSQL."""
    if not is_sqlite(url):
        return
    connection = Checkpointer(url).connect()
    try:
        empty_wal(connection)
    finally:
        connection.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine, database: str) -> None:
    """Bring ``database`` ("data" or "keystore") to the newest revision of its branch.

    Several gateway instances may start at once against one PostgreSQL; an advisory lock lets one
    of them migrate while the others wait and then find nothing to do.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = connection
        config.attributes["database"] = database
        command.upgrade(config, f"{database}@head")
