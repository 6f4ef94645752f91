"""SQLite's configuration: durable, overwriting what is deleted, and no checkpoint inside a commit."""

from __future__ import annotations

from sqlalchemy import text

from gateway.db import Checkpointer, create_db_engine


def _pragma(engine, name):
    with engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar()


def test_sqlite_runs_durable_and_overwrites_deleted_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    reader, writer = create_db_engine(url), create_db_engine(url, writer=True)
    for engine in (reader, writer):
        assert _pragma(engine, "journal_mode") == "wal"
        assert _pragma(engine, "synchronous") == 2  # FULL: a commit is on disk before the answer
        assert _pragma(engine, "secure_delete") == 1
        assert _pragma(engine, "foreign_keys") == 1
    assert _pragma(writer, "wal_autocheckpoint") == 0
    assert _pragma(reader, "wal_autocheckpoint") == 1000
    reader.dispose()
    writer.dispose()


def test_the_checkpointer_folds_the_wal_that_the_writer_leaves(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    writer = create_db_engine(url, writer=True)
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
