"""The ``gateway`` command as an operator uses it: a real process, real files, real databases."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from audit.checkpoint import Checkpoint, ConsistencyProof, read_checkpoints_document, verify_extension
from tests.audit.helpers import without_append_only_guard
from tests.conftest import HTTP_TIMEOUT

GATEWAY = [sys.executable, "-m", "gateway.cli"]


@pytest.fixture
def env(databases, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    environment.update(GATEWAY_HOME=str(tmp_path), GATEWAY_DATABASE_URL=databases.data_url,
                       GATEWAY_KEYSTORE_URL=databases.keystore_url, GATEWAY_KEYS_DIR=str(tmp_path / "keys"),
                       GATEWAY_LOG_FORMAT="json", GATEWAY_SCHEDULER="false")
    return environment


def gateway(env, *args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([*GATEWAY, *args], env=env, capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[2])
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_demo_is_idempotent_and_prints_its_ids(env):
    first = json.loads(gateway(env, "demo", "--json").stdout)
    second = json.loads(gateway(env, "demo", "--json").stdout)
    assert first == second
    assert {"client_manager", "ggz_worker", "police_officer", "privacy_officer"} <= set(first["staff"])
    assert len(first["clients"]) == 1
    assert set(first["parties"]) == {"shelter", "mental_health", "police", "municipality", "prosecution"}


def test_the_embedded_default_needs_no_settings_at_all(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    result = subprocess.run([*GATEWAY, "demo", "--json"], env=environment, capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "gateway.db").exists()
    assert (tmp_path / "var" / "keys" / "keystore.db").exists()
    assert (tmp_path / "var" / "gateway.db").stat().st_mode & 0o777 == 0o600


def test_token_is_minted_for_known_staff_only(env, databases):
    ids = json.loads(gateway(env, "demo", "--json").stdout)
    minted = gateway(env, "token", "--staff", ids["staff"]["client_manager"]).stdout.strip()
    assert minted.count(".") == 2
    payload = json.loads(base64.urlsafe_b64decode(minted.split(".")[1] + "=="))
    engine = create_engine(databases.data_url)
    with engine.connect() as conn:
        detail = conn.execute(text("SELECT detail FROM audit_event WHERE action = 'token.issue'")).scalar_one()
    engine.dispose()
    recorded = json.loads(detail) if isinstance(detail, str) else detail
    assert recorded["token_id"] == payload["jti"]  # a leaked token can be traced to its issue
    unknown = gateway(env, "token", "--staff", "00000000-0000-0000-0000-000000000000", check=False)
    assert unknown.returncode == 3 and "no such staff member" in unknown.stderr
    malformed = gateway(env, "token", "--staff", "not-an-id", check=False)
    assert malformed.returncode == 2
    forever = gateway(env, "token", "--staff", ids["staff"]["client_manager"], "--ttl", "1000000000", check=False)
    assert forever.returncode == 3 and "between 60 and 86400 seconds" in forever.stderr


def test_audit_verify_passes_then_names_the_first_tampered_event(env, databases):
    gateway(env, "demo")
    intact = gateway(env, "audit", "verify")
    assert intact.stdout.startswith("audit trail intact")
    engine = create_engine(databases.data_url)
    with without_append_only_guard(engine) as conn:
        conn.execute(text("UPDATE audit_event SET reason = 'nothing_to_see' WHERE seq = 4"))
        conn.commit()
    engine.dispose()
    broken = gateway(env, "audit", "verify", check=False)
    assert broken.returncode == 1
    assert "broken at event 4" in broken.stdout


def test_keys_rotate_reports_and_the_demo_stays_readable(env):
    ids = json.loads(gateway(env, "demo", "--json").stdout)
    rotated = gateway(env, "keys", "rotate")
    assert "1 data keys rewrapped, 1 old key-encryption key(s) destroyed" in rotated.stdout
    assert gateway(env, "audit", "verify").returncode == 0
    assert ids["clients"]


def test_demo_mode_serves_on_loopback_only(env):
    refused = gateway(env, "serve", "--host", "0.0.0.0", check=False)
    assert refused.returncode == 2 and "this machine only" in refused.stderr


def test_production_refuses_the_demo_covenant(env):
    refused = gateway({**env, "GATEWAY_MODE": "production"}, "demo", check=False)
    assert refused.returncode == 2 and "covenant" in refused.stderr.lower()


def test_production_needs_https_for_oauth(env, tmp_path):
    region = tmp_path / "region.toml"
    region.write_text(Path("policies/demo-region.toml").read_text().replace(
        'extends = "model-covenant.toml"', f'extends = "{Path("policies/model-covenant.toml").resolve()}"'))
    refused = gateway({**env, "GATEWAY_MODE": "production", "GATEWAY_COVENANT_FILE": str(region)}, "demo",
                      check=False)
    assert refused.returncode == 2 and "GATEWAY_PUBLIC_URL" in refused.stderr


def test_an_invalid_covenant_is_named_at_start(env, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('extends = "model-covenant.toml"\n[covenant]\nid = "x"\nversion = "1"\nname = "x"\n'
                      'controller = "nobody"\n')
    result = gateway({**env, "GATEWAY_COVENANT_FILE": str(broken)}, "demo", check=False)
    assert result.returncode == 2
    assert "file not found" in result.stderr  # extends is resolved beside the document itself
    (tmp_path / "model-covenant.toml").write_text(
        (Path(__file__).resolve().parents[2] / "policies" / "model-covenant.toml").read_text())
    result = gateway({**env, "GATEWAY_COVENANT_FILE": str(broken)}, "demo", check=False)
    assert result.returncode == 2
    assert "broken.toml: covenant.controller: names no party of this covenant" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_on_loopback_and_records_its_start(env, databases):
    ids = json.loads(gateway(env, "demo", "--json").stdout)
    minted = gateway(env, "token", "--staff", ids["staff"]["client_manager"]).stdout.strip()
    port = _free_port()
    server = subprocess.Popen([*GATEWAY, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/clients/{ids['clients'][0]}/entries",
                           headers={"Authorization": f"Bearer {minted}", "X-Purpose": "housing"}, timeout=HTTP_TIMEOUT)
        assert listed.status_code == 200 and len(listed.json()) == 4
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = create_engine(databases.data_url)
    with engine.connect() as conn:
        actions = [row[0] for row in conn.execute(text("SELECT action FROM audit_event ORDER BY seq"))]
    engine.dispose()
    assert actions.count("service.start") == 2  # the demo's start and the server's
    assert actions[-1] == "record.list"


def test_partners_are_registered_listed_and_switched_off_from_the_command_line(env, tmp_path, databases):
    ids = json.loads(gateway(env, "demo", "--json").stdout)
    shelter = ids["parties"]["shelter"]
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", private=True, parameters={"kid": "k1"})
    public = tmp_path / "jwks.json"
    public.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    signed = json.loads(gateway(env, "partners", "add", "--party", shelter, "--name", "Registration",
                                "--jwks", str(public), "--json").stdout)
    assert signed["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in signed
    secret = json.loads(gateway(env, "partners", "add", "--party", shelter, "--name", "Day care",
                                "--scopes", "events:write", "--json").stdout)
    assert secret["token_endpoint_auth_method"] == "client_secret_basic" and len(secret["client_secret"]) >= 40

    listed = json.loads(gateway(env, "partners", "list", "--json").stdout)
    assert {row["client_id"] for row in listed} == {signed["client_id"], secret["client_id"]}
    assert secret["client_secret"] not in json.dumps(listed)

    gateway(env, "partners", "deactivate", secret["client_id"])
    listed = {row["client_id"]: row["active"] for row in json.loads(gateway(env, "partners", "list", "--json").stdout)}
    assert listed == {signed["client_id"]: True, secret["client_id"]: False}

    # A private key offered as the public key set, an unknown party, an unknown scope: refused, nothing stored.
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    for args in (["--party", shelter, "--name", "x", "--jwks", str(private)],
                 ["--party", "nobody", "--name", "x"],
                 ["--party", shelter, "--name", "x", "--scopes", "records:everything"]):
        refused = gateway(env, "partners", "add", *args, check=False)
        assert refused.returncode == 3, refused.stderr
        assert "d\":" not in refused.stderr
    assert len(json.loads(gateway(env, "partners", "list", "--json").stdout)) == 2
    engine = create_engine(databases.data_url)
    with engine.connect() as conn:
        actions = [row[0] for row in conn.execute(text(
            "SELECT action || ':' || outcome FROM audit_event WHERE action LIKE 'partner.%' ORDER BY seq"))]
    engine.dispose()
    assert actions.count("partner.register:permit") == 2
    assert actions.count("partner.register:deny") == 3
    assert "partner.deactivate:permit" in actions and "partner.list:permit" in actions


def test_signing_keys_rotate_from_the_command_line(env, tmp_path):
    gateway(env, "demo", "--json")
    keys_file = tmp_path / "keys" / "token-signing.json"
    before = {record["jwk"]["kid"] for record in json.loads(keys_file.read_text())["keys"]}
    assert keys_file.stat().st_mode & 0o777 == 0o600
    printed = gateway(env, "keys", "rotate-signing").stdout
    after = json.loads(keys_file.read_text())["keys"]
    assert len(after) == 2 and {record["jwk"]["kid"] for record in after} > before
    assert [record["retired_at"] is None for record in after].count(True) == 1
    assert "new token-signing key" in printed
    assert keys_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.tampers
def test_audit_seal_checkpoints_prove_and_verify_against_a_witness(env, databases, tmp_path):
    gateway(env, "demo")
    assert gateway(env, "audit", "seal").stdout.startswith("sealed ")
    witness = tmp_path / "witness.json"
    gateway(env, "audit", "checkpoints", "--out", str(witness))
    document = json.loads(witness.read_text())
    assert document["public_keys"][0]["crv"] == "Ed25519" and len(document["checkpoints"]) == 1
    engine = create_engine(databases.data_url)
    with engine.connect() as conn:
        first = str(conn.execute(text("SELECT id FROM audit_event WHERE seq = 1")).scalar_one())
        actions = set(conn.execute(text("SELECT action FROM audit_event")).scalars())
    assert {"audit.seal", "audit.checkpoints"} <= actions
    proof = json.loads(gateway(env, "audit", "prove", first).stdout)
    assert proof["seq"] == 1 and proof["checkpoint"] == document["checkpoints"][0]
    assert gateway(env, "audit", "verify", "--checkpoints", str(witness)).stdout.startswith("audit trail intact")
    held = Checkpoint.from_json(document["checkpoints"][0])
    keys = read_checkpoints_document(document)[1]
    newer = int(gateway(env, "audit", "seal").stdout.split()[1])

    def consistency(check=True):
        return gateway(env, "audit", "consistency", str(held.tree_size), str(newer), check=check)

    assert verify_extension(held, ConsistencyProof.from_json(json.loads(consistency().stdout)), keys)
    assert gateway(env, "audit", "consistency", str(newer), str(held.tree_size), check=False).returncode == 3
    assert gateway(env, "audit", "consistency", str(held.tree_size), str(newer + 1), check=False).returncode == 3
    # A forger rewrites event 2 and recomputes every hash after it: the chain alone is fooled.
    from audit.chain import GENESIS, link
    with without_append_only_guard(engine) as conn:
        conn.execute(text("UPDATE audit_event SET reason = 'nothing_to_see' WHERE seq = 2"))
        rows = conn.execute(text("SELECT * FROM audit_event ORDER BY seq")).mappings().all()
        prev = GENESIS
        for row in rows:
            values = dict(row, prev_hash=prev)
            if isinstance(values["detail"], str):
                values["detail"] = json.loads(values["detail"])
            if isinstance(values["id"], str):
                values["id"] = uuid.UUID(values["id"])
            values["occurred_at"] = values["occurred_at"].replace(tzinfo=dt.UTC) if isinstance(
                values["occurred_at"], dt.datetime) else dt.datetime.fromisoformat(values["occurred_at"]).replace(
                tzinfo=dt.UTC)
            new = link(prev, values)
            conn.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": new, "s": row["seq"]})
            prev = new
        conn.commit()
    engine.dispose()
    broken = gateway(env, "audit", "verify", "--checkpoints", str(witness), check=False)
    assert broken.returncode == 1
    assert f"broken at checkpoint {document['checkpoints'][0]['tree_size']}" in broken.stdout
    # The witness, holding only its checkpoint, sees it too: the proof from the rewritten trail fails.
    assert not verify_extension(held, ConsistencyProof.from_json(json.loads(consistency().stdout)), keys)
    unknown = gateway(env, "audit", "prove", str(uuid.uuid4()), check=False)
    assert unknown.returncode == 3


def test_jobs_run_takes_the_lease_once_across_processes(env, databases):
    gateway(env, "demo")
    engine = create_engine(databases.data_url)

    def scalar(sql: str):
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()

    # Another instance holds the seal job's lease: this process refuses, seals nothing, and says so.
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO job_lease (name, holder, held_until, last_started) "
                          "VALUES ('audit.seal', 'elsewhere:1:ab', :until, :now)"),
                     {"until": dt.datetime(2100, 1, 1), "now": dt.datetime(2026, 1, 1)})
    held = gateway(env, "jobs", "run", "audit.seal", check=False)
    assert held.returncode == 1 and "another instance holds its lease" in held.stderr
    assert scalar("SELECT count(*) FROM audit_checkpoint") == 0
    assert scalar("SELECT reason FROM audit_event WHERE action = 'job.run' ORDER BY seq DESC LIMIT 1") == "lease_held"

    # The lease is free: two processes at once make one checkpoint between them.
    with engine.begin() as conn:
        conn.execute(text("UPDATE job_lease SET holder = NULL, held_until = NULL"))
    racers = [subprocess.Popen([*GATEWAY, "jobs", "run", "audit.seal"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
              for _ in range(2)]
    results = [(racer.wait(timeout=120), racer.stdout.read(), racer.stderr.read()) for racer in racers]
    assert sorted(code for code, _, _ in results) in ([0, 0], [0, 1]), results
    assert sum("audit.seal: done" in out for _, out, _ in results) == 1, results
    assert scalar("SELECT count(*) FROM audit_checkpoint") == 1
    listed = {row["name"]: row for row in json.loads(gateway(env, "jobs", "list", "--json").stdout)}
    assert listed["audit.seal"]["last_outcome"] in ("done", "idle") and listed["audit.seal"]["held_by"] is None
    assert listed["idempotency.purge"] == {**listed["idempotency.purge"], "schedule": "every 1 hour",
                                           "last_started": None}
    assert scalar("SELECT count(*) FROM audit_event WHERE action = 'job.list'") == 1
    assert gateway(env, "audit", "verify").stdout.startswith("audit trail intact")
    unknown = gateway(env, "jobs", "run", "no.such_job", check=False)
    assert unknown.returncode == 3 and "no job" in unknown.stderr
    engine.dispose()


def test_a_staff_members_address_for_notices_is_set_and_cleared_but_never_recorded(env, databases):
    ids = json.loads(gateway(env, "demo", "--json").stdout)
    manager = ids["staff"]["client_manager"]
    address = "m.de.vries@opvang.example"
    assert "mailed there" in gateway(env, "staff", "email", "demo.client_manager", address).stdout
    engine = create_engine(databases.data_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT email FROM staff WHERE handle = 'demo.client_manager'")).scalar()
            assert str(stored) == address
            # Refused: not an address, nobody of that handle, neither an address nor --clear.
            assert gateway(env, "staff", "email", manager, "not-an-address", check=False).returncode == 3
            assert gateway(env, "staff", "email", "demo.nobody", address, check=False).returncode == 3
            assert gateway(env, "staff", "email", manager, check=False).returncode == 2
            gateway(env, "staff", "email", manager, "--clear")
            assert conn.execute(text("SELECT email FROM staff WHERE handle = 'demo.client_manager'")).scalar() is None
            rows = conn.execute(text("SELECT outcome, reason, object_id, detail FROM audit_event "
                                     "WHERE action = 'staff.email' ORDER BY seq")).all()
    finally:
        engine.dispose()
    assert [(row[0], row[1]) for row in rows] == [
        ("permit", "permitted"), ("deny", "email_invalid"), ("deny", "staff_unknown"), ("permit", "permitted")]
    assert rows[0][2] == manager and address not in " ".join(str(row) for row in rows)
