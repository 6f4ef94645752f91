"""Sealing as the gateway does it: the key in the key folder, the administrator's verbs, the proof API."""

from __future__ import annotations

import json
import stat
import uuid

import pytest
from sqlalchemy import select, text, update

from audit import AuditAction, AuditEvent, Outcome
from audit.chain import link
from audit.checkpoint import (ConsistencyProof, InclusionProof, key_from_jwk, key_id, read_checkpoints_document,
                              verify_extension)
from gateway import operations
from gateway.auditlog import service as auditlog_service
from gateway.auditlog.sealing import SEAL_KEY_FILE
from gateway.errors import Conflict, InvalidRequest, NotFound
from gateway.ratelimit import RateLimiter
from gateway.models import DATA_METADATA
from gateway.parties.models import Staff
from gateway.parties.service import staff_row
from tests.audit.helpers import without_append_only_guard
from tests.gateway.helpers import auth, events, last_event, token


def test_the_sealing_key_is_0600_in_the_key_folder_and_never_in_the_database(runtime, demo):
    path = runtime.settings.key_folder / SEAL_KEY_FILE
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    operations.seal_now(runtime)
    private = runtime.seal_key.private_key.private_bytes_raw()
    pem_body = "".join(path.read_text().splitlines()[1:-1])
    with runtime.engine.connect() as conn:
        for metadata in DATA_METADATA:
            for table in metadata.tables.values():
                for row in conn.execute(select(table)):
                    dumped = repr(tuple(row))
                    assert private.hex() not in dumped and pem_body not in dumped and repr(private) not in dumped


def test_seal_is_decided_recorded_and_covers_its_own_event(runtime, demo):
    checkpoint = operations.seal_now(runtime)
    sealed = last_event(runtime, action=AuditAction.AUDIT_SEAL)
    assert (sealed.outcome, sealed.authority, sealed.purpose) == (Outcome.PERMIT, "role:administrator",
                                                                  "covenant_administration")
    assert checkpoint.tree_size == sealed.seq
    assert operations.seal_now(runtime) is not None  # the second seal covers the first seal's event
    report = operations.verify_trail(runtime)
    assert report.ok and report.checkpoints == 2
    assert last_event(runtime, action=AuditAction.AUDIT_VERIFY).detail["checkpoints"] == 2


def test_checkpoints_export_for_witnesses_and_verify_against_them(runtime, demo):
    operations.seal_now(runtime)
    document = operations.export_checkpoints(runtime)
    assert last_event(runtime, action=AuditAction.AUDIT_CHECKPOINTS).outcome == Outcome.PERMIT
    held, keys = read_checkpoints_document(json.loads(json.dumps(document)))
    assert keys == runtime.seal_key.keys and len(held) == 1
    report = operations.verify_trail(runtime, witness=document)
    assert report.ok and report.checkpoints == 2  # the stored one and the witness's


def test_prove_prints_a_proof_that_verifies(runtime, demo):
    first = events(runtime)[0]
    operations.seal_now(runtime)
    proof = operations.prove_event(runtime, event_id=first.id)
    key = key_from_jwk(proof["public_key"])
    assert InclusionProof.from_json(proof).verifies({key_id(key): key})
    assert last_event(runtime, action=AuditAction.AUDIT_PROVE).object_id == str(first.id)


def test_consistency_is_decided_recorded_and_verifies_for_a_witness(runtime, demo):
    held = operations.seal_now(runtime)
    newer = operations.seal_now(runtime)
    proof = operations.prove_consistency(runtime, first=held.tree_size, second=newer.tree_size)
    key = key_from_jwk(proof["public_key"])
    assert verify_extension(held, ConsistencyProof.from_json(json.loads(json.dumps(proof))), {key_id(key): key})
    recorded = last_event(runtime, action=AuditAction.AUDIT_PROVE)
    assert (recorded.outcome, recorded.object_type, recorded.detail) == (
        Outcome.PERMIT, "audit_checkpoint", {"first": held.tree_size, "second": newer.tree_size})
    with pytest.raises(NotFound):
        operations.prove_consistency(runtime, first=held.tree_size, second=newer.tree_size + 1)
    assert last_event(runtime, action=AuditAction.AUDIT_PROVE).reason == "not_found"
    with pytest.raises(InvalidRequest):
        operations.prove_consistency(runtime, first=newer.tree_size, second=held.tree_size)
    assert last_event(runtime, action=AuditAction.AUDIT_PROVE).reason == "query_invalid"


def consistency(http, **params):
    return http.get("/v1/audit/checkpoints/consistency", params=params)


def test_the_consistency_proof_is_public_unrecorded_and_verifies(runtime, demo, http):
    held = operations.seal_now(runtime)
    newer = operations.seal_now(runtime)
    before = len(events(runtime))
    answer = consistency(http, first=held.tree_size, second=newer.tree_size)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=86400, immutable"
    body = answer.json()
    assert body["first"] == held.as_json() and body["second"] == newer.as_json()
    assert verify_extension(held, ConsistencyProof.from_json(body), runtime.seal_key.keys)
    same = consistency(http, first=newer.tree_size, second=newer.tree_size).json()
    assert same["proof"] == [] and verify_extension(newer, ConsistencyProof.from_json(same), runtime.seal_key.keys)
    assert len(events(runtime)) == before  # hashes only, like the latest checkpoint: nothing recorded


@pytest.mark.parametrize("params,status", [
    ({"first": 1, "second": "sealed"}, 404),
    ({"first": "held", "second": 10**9}, 404),
    ({"first": "sealed", "second": "held"}, 422),
    ({"first": 0, "second": "sealed"}, 422),
    ({"first": "x", "second": "sealed"}, 422),
    ({"second": "sealed"}, 422),
])
def test_the_consistency_proof_names_stored_checkpoints_only(runtime, demo, http, params, status):
    held = operations.seal_now(runtime)
    newer = operations.seal_now(runtime)
    sizes = {"held": held.tree_size, "sealed": newer.tree_size}
    answer = consistency(http, **{name: sizes.get(value, value) for name, value in params.items()})
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"


def test_computing_consistency_proofs_is_limited(runtime, demo, http):
    held = operations.seal_now(runtime)
    newer = operations.seal_now(runtime)
    runtime.rate_limiter = RateLimiter("600/minute")
    for _ in range(6):
        assert consistency(http, first=held.tree_size, second=newer.tree_size).status_code == 200
    refused = consistency(http, first=held.tree_size, second=newer.tree_size)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "consistency proofs" in refused.json()["detail"]
    # An unknown size is answered without counting: it costs nothing to say.
    assert consistency(http, first=held.tree_size, second=10**9).status_code == 404
    assert auditlog_service.CONSISTENCY_RATE == "6/minute"


@pytest.mark.tampers
def test_verify_names_a_consistent_rewrite_against_a_witness(runtime, demo):
    operations.seal_now(runtime)
    document = operations.export_checkpoints(runtime)
    with without_append_only_guard(runtime.writer_engine) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor_id="someone-else"))
        conn.commit()
    report = operations.verify_trail(runtime, witness=document)
    assert not report.ok and report.first_bad_seq == 3 and report.first_bad_checkpoint is not None


# -- the API --------------------------------------------------------------------------------------


def proof(http, bearer, event_id, purpose="oversight"):
    return http.get(f"/v1/audit/events/{event_id}/proof", headers=auth(bearer, purpose))


def test_the_latest_checkpoint_is_public(runtime, demo, http):
    assert http.get("/v1/audit/checkpoints/latest").status_code == 404
    checkpoint = operations.seal_now(runtime)
    answer = http.get("/v1/audit/checkpoints/latest")
    assert answer.status_code == 200
    body = answer.json()
    assert body["checkpoint"]["tree_size"] == checkpoint.tree_size
    assert body["public_key"]["kid"] == checkpoint.key_id


def test_the_controllers_privacy_officer_gets_a_proof_that_verifies(runtime, demo, http):
    police = token(runtime, demo.staff["police_officer"])
    http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(police, "nuisance_reduction"))
    refused = last_event(runtime, actor_id=demo.staff["police_officer"])
    officer = token(runtime, demo.staff["privacy_officer"])
    assert proof(http, officer, refused.id).status_code == 409  # not sealed yet
    operations.seal_now(runtime)
    answer = proof(http, officer, refused.id)
    assert answer.status_code == 200
    body = answer.json()
    key = key_from_jwk(body["public_key"])
    assert InclusionProof.from_json(body).verifies({key_id(key): key})
    listed = http.get("/v1/audit/events", params={"actor_id": demo.staff["police_officer"], "limit": 1},
                      headers=auth(officer, "oversight")).json()[0]
    event = dict(listed, occurred_at=refused.occurred_at, id=refused.id)
    assert link(bytes.fromhex(body["prev_hash"]), event).hex() == body["event_hash"]
    recorded = last_event(runtime, action=AuditAction.AUDIT_PROVE)
    assert (recorded.outcome, recorded.object_id, recorded.client_pseudonym) == (
        Outcome.PERMIT, str(refused.id), refused.client_pseudonym)
    tampered = dict(body, audit_path=list(reversed(body["audit_path"])))
    assert not InclusionProof.from_json(tampered).verifies({key_id(key): key})


def test_a_privacy_officer_of_another_party_sees_proofs_of_their_own_staff_only(runtime, demo, http, clock):
    officer_id = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**staff_row(
            staff_id=officer_id, party=demo.parties["shelter"], handle="shelter.privacy",
            roles=["privacy_officer"], now=clock())))
    manager = token(runtime, demo.staff["client_manager"])  # shelter staff
    http.get(f"/v1/clients/{demo.clients[0]}", headers=auth(manager, "case_management"))
    own = last_event(runtime, actor_id=demo.staff["client_manager"])
    police = token(runtime, demo.staff["police_officer"])
    http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(police, "nuisance_reduction"))
    other = last_event(runtime, actor_id=demo.staff["police_officer"])
    operations.seal_now(runtime)
    officer = token(runtime, officer_id)
    assert proof(http, officer, own.id).status_code == 200
    assert proof(http, officer, other.id).status_code == 404
    assert proof(http, officer, uuid.uuid4()).status_code == 404
    denied = last_event(runtime, action=AuditAction.AUDIT_PROVE)
    assert (denied.outcome, denied.reason) == (Outcome.DENY, "event_not_visible")


@pytest.mark.parametrize("member,scopes,status", [
    (None, None, 401),
    ("privacy_officer", {"records:read"}, 403),
    ("client_manager", {"audit:read"}, 403),
])
def test_proofs_are_for_privacy_officers_only(runtime, demo, http, member, scopes, status):
    operations.seal_now(runtime)
    bearer = token(runtime, demo.staff[member], scopes=scopes) if member else None
    assert proof(http, bearer, events(runtime)[0].id).status_code == status


@pytest.mark.tampers
def test_no_consistency_proof_over_a_broken_trail(runtime, demo, http):
    held = operations.seal_now(runtime)
    newer = operations.seal_now(runtime)
    with without_append_only_guard(runtime.writer_engine) as conn:
        conn.execute(AuditEvent.__table__.delete().where(AuditEvent.seq == newer.tree_size))
        conn.commit()
    answer = consistency(http, first=held.tree_size, second=newer.tree_size)
    assert answer.status_code == 409 and answer.headers["content-type"] == "application/problem+json"
    with pytest.raises(Conflict):
        operations.prove_consistency(runtime, first=held.tree_size, second=newer.tree_size)
    assert last_event(runtime, action=AuditAction.AUDIT_PROVE).reason == "trail_broken"
