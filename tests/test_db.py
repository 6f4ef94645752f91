"""SQLite's configuration: durable, overwriting what is deleted, and no checkpoint inside a commit."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from gateway.db import Checkpointer, WalNotEmptied, create_db_engine, empty_wal


def _pragma(engine, name):
    with engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar()


def test_sqlite_runs_durable_and_overwrites_deleted_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    reader = create_db_engine(url)
    writer = create_db_engine(url, writer=True, checkpoint_in_commits=False)
    for engine in (reader, writer):
        assert _pragma(engine, "journal_mode") == "wal"
        assert _pragma(engine, "synchronous") == 2  # FULL: a commit is on disk before the answer
        assert _pragma(engine, "secure_delete") == 1
        assert _pragma(engine, "foreign_keys") == 1
    assert _pragma(writer, "wal_autocheckpoint") == 0
    assert _pragma(reader, "query_only") == 1  # only the writer writes
    key_store_writer = create_db_engine(url, writer=True)
    assert _pragma(key_store_writer, "wal_autocheckpoint") == 1000  # written rarely: SQLite's default
    for engine in (reader, writer, key_store_writer):
        engine.dispose()


def test_the_checkpointer_folds_the_wal_that_the_writer_leaves(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    writer = create_db_engine(url, writer=True, checkpoint_in_commits=False)
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (x BLOB)"))
    for _ in range(50):
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (randomblob(3000))"))
    checkpointer = Checkpointer(url)
    connection = checkpointer.connect()
    frames, folded = checkpointer.checkpoint(connection)
    assert frames > 50 and folded == frames
    connection.close()
    writer.dispose()


def test_emptying_the_wal_reads_sqlites_busy_answer_instead_of_trusting_it(tmp_path):
    """``wal_checkpoint(TRUNCATE)`` does not raise when a reader (or another checkpoint) is in the way:
    it answers busy and leaves the WAL, with what was deleted in it. The purge of 100,000 clients left a
    3 GB WAL so (bench/README.md): the answer must be read, retried, and a WAL left in place refused."""
    path = tmp_path / "x.db"
    writer = create_db_engine(f"sqlite:///{path}", writer=True, checkpoint_in_commits=False)
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (x BLOB)"))
        conn.execute(text("INSERT INTO t VALUES (randomblob(3000))"))
    with writer.begin() as conn:
        conn.execute(text("DELETE FROM t"))
    wal = tmp_path / "x.db-wal"
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # a read transaction on the WAL's snapshot
    checkpoint = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        assert checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 1  # busy, no error
        with pytest.raises(WalNotEmptied):
            empty_wal(checkpoint, patience=0)
        assert wal.stat().st_size > 0
        reader.execute("COMMIT")
        empty_wal(checkpoint, patience=0)
        assert wal.stat().st_size == 0
    finally:
        reader.close()
        checkpoint.close()
        writer.dispose()
