"""Shared fixtures: real databases (a SQLite file and the local PostgreSQL), a controlled clock,
the demo cast, and the gateway served over loopback.

Every database test runs on both engines. PostgreSQL is at ``GATEWAY_TEST_POSTGRES_URL`` (default:
the local server, database ``test``). Where it is unreachable the PostgreSQL tests are skipped, except
on CI (``CI=true``), where they fail: CI must prove both engines.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import create_engine, text

from audit import verify_chain
from gateway.clock import ControlledClock
from gateway.config import Settings
from gateway.db import create_db_engine, migrate
from gateway.runtime import Runtime

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DATA_TABLES = ("audit_checkpoint", "audit_event", "idempotency_record", "job_lease", "oauth_used_assertion",
               "oauth_revoked_token", "statistics_extract", "statistics_held", "statistics_decision", "notice",
               "deadline_notice", "rights_notification", "covenant_approval", "covenant_party_key",
               "covenant_version", "legal_hold", "rights_request", "criminal_disclosure", "client_task", "consent",
               "entry",
               "emergency_access", "care_link", "client", "staff", "partner_system", "party")
ENGINES = ("sqlite", "postgresql")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 10})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # the reason is shown in the skip or failure message
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@dataclass
class Databases:
    data_url: str
    keystore_url: str


@pytest.fixture(scope="session")
def postgres_schemas():
    """Two schemas of their own in the test database (data, key store), migrated once per session."""
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL unreachable at {POSTGRES_URL}: {problem}"
        if ON_CI:
            pytest.fail(message + " (CI requires the PostgreSQL tests)", pytrace=False)
        pytest.skip(message)
    suffix = secrets.token_hex(4)
    schemas = {"data": f"gw_test_{suffix}_data", "keystore": f"gw_test_{suffix}_keys"}
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        for schema in schemas.values():
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    urls = {name: f"{POSTGRES_URL}?options=-csearch_path%3D{schema}" for name, schema in schemas.items()}
    for name, url in urls.items():
        engine = create_db_engine(url, writer=True)
        migrate(engine, name)
        engine.dispose()
    yield Databases(data_url=urls["data"], keystore_url=urls["keystore"])
    with admin.begin() as conn:
        for schema in schemas.values():
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated pair of SQLite files, copied for each test (faster than migrating each time)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    for name, filename in (("data", "gateway.db"), ("keystore", "keystore.db")):
        engine = create_db_engine(f"sqlite:///{folder / filename}", writer=True)
        migrate(engine, name)
        engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return folder


def _reset_postgres(databases: Databases) -> None:
    for url, tables in ((databases.data_url, DATA_TABLES), (databases.keystore_url, ("client_key",))):
        engine = create_engine(url)
        with engine.begin() as conn:
            # The trail is append-only (a trigger refuses TRUNCATE); a superuser may switch triggers off.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        engine.dispose()


@pytest.fixture(params=ENGINES)
def engine_name(request) -> str:
    return request.param


@pytest.fixture
def databases(engine_name, tmp_path, request) -> Databases:
    if engine_name == "postgresql":
        databases = request.getfixturevalue("postgres_schemas")
        _reset_postgres(databases)
        return databases
    template = request.getfixturevalue("sqlite_template")
    (tmp_path / "keys").mkdir(mode=0o700)
    shutil.copy(template / "gateway.db", tmp_path / "gateway.db")
    shutil.copy(template / "keystore.db", tmp_path / "keys" / "keystore.db")
    return Databases(data_url=f"sqlite:///{tmp_path / 'gateway.db'}",
                     keystore_url=f"sqlite:///{tmp_path / 'keys' / 'keystore.db'}")


@pytest.fixture
def clock() -> ControlledClock:
    return ControlledClock(START)


# Ports handed out by the ``port`` fixture, each with its socket still bound, until a LoopbackServer takes it.
_RESERVED: dict[int, socket.socket] = {}


def _bound(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@pytest.fixture
def port():
    """A free loopback port for the test server, known before the settings (the OAuth issuer and
    the token endpoint's URL are the gateway's public URL). Its socket stays bound until the
    LoopbackServer serves on it: released in between, the port could be taken by anything on the
    machine, an outgoing connection's ephemeral port included, and the server would not start."""
    sock = _bound(0)
    number = sock.getsockname()[1]
    _RESERVED[number] = sock
    yield number
    _RESERVED.pop(number, None)
    sock.close()


@pytest.fixture
def settings(databases, tmp_path, port) -> Settings:
    return Settings(_env_file=None, mode="demo", home=tmp_path, database_url=databases.data_url,
                    keystore_url=databases.keystore_url, keys_dir=tmp_path / "keys", log_format="json",
                    public_url=f"http://127.0.0.1:{port}")


@pytest.fixture
def runtime(settings, clock, request):
    """A gateway runtime on the test's databases; after the test, its audit trail must verify
    (tests that tamper with the trail on purpose are marked ``tampers``)."""
    runtime = Runtime.build(settings, clock=clock)
    yield runtime
    try:
        if request.node.get_closest_marker("tampers") is None:
            with runtime.engine.connect() as conn:
                report = verify_chain(conn)
            assert report.ok, report.describe()
    finally:
        runtime.close()


@pytest.fixture
def demo(runtime):
    """The demo cast (see ``gateway.demo``): staff ids by name, the demo client, the parties."""
    from gateway.demo import seed_demo

    return seed_demo(runtime)


# How long a test's HTTP client waits for an answer over loopback: generous, since a CI machine under
# load may take seconds for what takes milliseconds here; a test never asserts on speed.
HTTP_TIMEOUT = 60


class LoopbackServer:
    """The gateway's ASGI app served by uvicorn on 127.0.0.1, in a thread of the test process."""

    def __init__(self, app, port: int = 0) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        sock = (_RESERVED.pop(port, None) if port else None) or _bound(port)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> "LoopbackServer":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


@pytest.fixture
def server(runtime, port):
    from gateway.main import create_app

    with LoopbackServer(create_app(runtime), port) as running:
        yield running


@pytest.fixture
def http(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        yield client
