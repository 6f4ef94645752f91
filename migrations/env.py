"""Alembic environment: one history, two databases.

The data database (gateway and audit tables) and the key store (wrapped data keys) are separate
databases, so the history has two branches, ``data`` and ``keystore``, each with its own version
table. The gateway migrates both at set-up and start-up (``gateway.db.migrate``); a developer runs
``alembic -x database=data ...`` (or ``keystore``) with the settings from the environment.
"""

from __future__ import annotations

from alembic import context

from gateway.models import DATA_METADATA
from gateway.vault import KeyStoreBase

config = context.config
database = config.attributes.get("database") or context.get_x_argument(as_dictionary=True).get("database", "data")
if database not in ("data", "keystore"):
    raise SystemExit("-x database= must be data or keystore")
target_metadata = list(DATA_METADATA) if database == "data" else KeyStoreBase.metadata


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=f"alembic_version_{database}",
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from gateway.config import Settings
    from gateway.db import create_db_engine

    settings = Settings()
    engine = create_db_engine(settings.data_url if database == "data" else settings.key_store_url, writer=True)
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
