"""The models and the migration history agree, on both engines; the history runs both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from gateway.db import alembic_config, create_db_engine, migrate
from gateway.models import DATA_METADATA
from gateway.vault import KeyStoreBase


def _differences(url: str, metadata) -> list:
    engine = create_db_engine(url)
    tables = {table for meta in (metadata if isinstance(metadata, list) else [metadata]) for table in meta.tables}
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            # Each database also holds Alembic's version table (and, on a shared test server, nothing else).
            "include_name": lambda name, kind, parent: kind != "table" or name in tables,
        })
        differences = compare_metadata(context, metadata)
    engine.dispose()
    return differences


def test_autogenerate_finds_no_difference(databases):
    assert _differences(databases.data_url, list(DATA_METADATA)) == []
    assert _differences(databases.keystore_url, KeyStoreBase.metadata) == []


def test_the_history_has_one_head_per_database():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    branches = {ScriptDirectory.from_config(alembic_config()).get_revision(head).branch_labels.copy().pop()
                for head in heads}
    assert branches == {"data", "keystore"}


def test_downgrade_and_upgrade_again(tmp_path):
    for database, filename in (("data", "gateway.db"), ("keystore", "keystore.db")):
        engine = create_db_engine(f"sqlite:///{tmp_path / filename}", writer=True)
        migrate(engine, database)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes.update(connection=connection, database=database)
            command.downgrade(config, f"{database}@base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {f"alembic_version_{database}"}
        migrate(engine, database)
        with engine.connect() as conn:
            assert len(inspect(conn).get_table_names()) > 1
        engine.dispose()
