"""No plaintext personal data at rest or in the margins: not in the database files, the key store,
the logs, the audit trail or error messages (DESIGN: "Pseudonyms everywhere else")."""

from __future__ import annotations

import logging
import secrets
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from gateway.logging import configure_logging
from tests.gateway.helpers import auth, register_client, token

BSN = "111222333"  # passes the eleven test; fictional


@pytest.fixture
def marker() -> str:
    return f"MARKER-{secrets.token_hex(8)}"


@pytest.fixture
def captured_logs(tmp_path):
    """Route the gateway's logs (structlog and the standard library) to a file, as in production."""
    configure_logging(console=False)
    path = tmp_path / "gateway.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logging.getLogger().addHandler(handler)
    yield path
    logging.getLogger().removeHandler(handler)
    handler.close()


def _every_file_of(runtime, settings) -> list[Path]:
    folders = {Path(settings.home), Path(settings.key_folder)}
    return sorted(path for folder in folders for path in folder.rglob("*") if path.is_file())


def _database_text(url: str) -> str:
    """Every value of every table, as text (for PostgreSQL, where the files are the server's)."""
    engine = create_engine(url)
    chunks = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                chunks.extend(value.hex() + repr(bytes(value)) if isinstance(value, (bytes, memoryview)) else str(value)
                              for value in row)
    engine.dispose()
    return "\n".join(chunks)


def test_content_and_bsn_never_appear_outside_the_ciphertext(runtime, settings, demo, http, marker,
                                                             captured_logs, engine_name):
    bearer = token(runtime, demo.staff["client_manager"])
    police = token(runtime, demo.staff["police_officer"])
    registered = http.post("/v1/clients", json={"bsn": BSN}, headers=auth(bearer, "case_management"))
    assert registered.status_code == 201
    other_client = registered.json()["id"]
    again = http.post("/v1/clients", json={"bsn": BSN}, headers=auth(bearer, "case_management"))
    assert again.status_code == 409 and BSN not in again.text
    note = {"kind": "note", "category": "special", "content": {"text": f"{marker} diagnosed with {marker}"},
            "source_reference": f"{marker}-REF"}
    created = http.post(f"/v1/clients/{other_client}/entries", json=note, headers=auth(bearer))
    assert created.status_code == 201
    entry = created.json()["id"]
    read = http.get(f"/v1/clients/{other_client}/entries/{entry}", headers=auth(bearer))
    assert marker in read.text  # the linked client manager does see it
    refused = http.get(f"/v1/clients/{other_client}/entries/{entry}", headers=auth(police))
    invalid = http.post(f"/v1/clients/{other_client}/entries", headers=auth(bearer),
                        json={"kind": "note", "category": "ordinary", "content": {"text": marker, "extra": marker}})
    team = f"/v1/clients/{other_client}/team"
    granted = http.post(team, headers=auth(bearer, "case_management"),
                        json={"staff_id": demo.staff["police_officer"], "reason": f"{marker} asked for records"})
    assert granted.status_code == 201
    ended = http.post(f"{team}/{granted.json()['id']}/end", headers=auth(bearer, "case_management"),
                      json={"reason": f"{marker} case closed"})
    assert ended.status_code == 200
    assert marker in http.get(team, headers=auth(bearer)).text  # the linked see why members were linked
    too_long = http.post(team, headers=auth(bearer, "case_management"),
                         json={"staff_id": demo.staff["ggz_worker"], "reason": marker * 100})
    refused_team = http.get(team, headers=auth(police))
    for response in (refused, invalid, too_long, refused_team):
        assert response.status_code in (403, 422)
        assert marker not in response.text
    http.get(f"/v1/audit/events?client_id={other_client}",
             headers=auth(token(runtime, demo.staff["privacy_officer"]), "oversight"))
    runtime.close()  # let SQLite fold its journal into the file; what is on disk is what we search

    needles = [marker.encode(), marker.encode("utf-16-le"), BSN.encode()]
    if engine_name == "sqlite":
        files = _every_file_of(runtime, settings)
        assert any(path.name == "gateway.db" for path in files)
        for path in files:
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"{needle!r} found in {path.name}"
    else:
        for url in (settings.data_url, settings.key_store_url):
            stored = _database_text(url)
            assert marker not in stored and BSN not in stored
        for path in _every_file_of(runtime, settings):
            for needle in needles:
                assert needle not in path.read_bytes(), f"{needle!r} found in {path.name}"

    logs = captured_logs.read_text()
    assert "request_finished" in logs  # the logs were captured
    assert marker not in logs and BSN not in logs


def test_the_audit_trail_holds_pseudonyms_and_codes_only(runtime, demo, http, marker):
    bearer = token(runtime, demo.staff["client_manager"])
    client = demo.clients[0]
    http.post(f"/v1/clients/{client}/entries", headers=auth(bearer),
              json={"kind": "note", "category": "ordinary", "content": {"text": marker}, "source_reference": marker})
    http.get(f"/v1/clients/{client}/entries", headers={**auth(bearer), "X-Purpose": marker})
    trail = _database_text_of_trail(runtime)
    assert marker not in trail
    assert BSN not in trail


def _database_text_of_trail(runtime) -> str:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_event")).all()
    return "\n".join(str(value) for row in rows for value in row)


def test_key_material_never_reaches_the_databases(runtime, settings, demo, engine_name):
    runtime.close()
    secrets_on_disk = [path.read_bytes().strip() for path in Path(settings.key_folder).rglob("*.key")]
    assert secrets_on_disk
    if engine_name == "sqlite":
        blobs = [Path(settings.home, "gateway.db").read_bytes(), Path(settings.key_folder, "keystore.db").read_bytes()]
    else:
        blobs = [_database_text(settings.data_url).encode(), _database_text(settings.key_store_url).encode()]
    import base64
    for secret in secrets_on_disk:
        raw = base64.b64decode(secret)
        for blob in blobs:
            assert secret not in blob and raw not in blob and raw.hex().encode() not in blob


def test_key_files_are_private(runtime, settings, demo):
    folder = Path(settings.key_folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "kek").stat().st_mode & 0o777 == 0o700
    for path in [*folder.glob("*.key"), *folder.glob("*.jwk"), *(folder / "kek").iterdir()]:
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_pseudonyms_are_random_and_carry_no_identity(runtime, demo):
    ids = [register_client(runtime, demo.staff["client_manager"]) for _ in range(5)]
    from gateway.clients.models import Client
    with runtime.session() as session:
        pseudonyms = {session.get(Client, uuid.UUID(str(i))).pseudonym for i in ids}
    assert len(pseudonyms) == 5
    assert all(p.startswith("CL-") and len(p) == 12 for p in pseudonyms)


def test_standard_library_records_are_rendered_like_the_gateways_own(capsys):
    """uvicorn, Alembic and SQLAlchemy log through the standard library: their records go through
    the same processors and come out as JSON lines, not as a logging error."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging(console=False)  # its handler writes to this test's captured stderr
        logging.getLogger("uvicorn.error").info("Uvicorn running on %s:%d", "127.0.0.1", 8000)
    finally:
        root.handlers[:] = handlers  # the captured stream closes with the test
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "Logging error" not in err
    assert '"event": "Uvicorn running on 127.0.0.1:8000"' in err
    assert '"logger": "uvicorn.error"' in err
