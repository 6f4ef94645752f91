"""Covenant versions that every party signs (art. 16): proposals, approvals, the version in force."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

import policies
from covenant import Action, ClientFacts, Context, LinkFacts, Resource, Role, Subject, decide, load_covenant
from covenant.signing import approval_message, canonical_document, public_key_pem, sign_approval
from gateway.covenants import service
from gateway.covenants.models import CovenantApproval, CovenantVersion
from gateway.covenants.registry import CovenantNotInForce
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.operations import issue_token
from gateway.runtime import Runtime
from tests.gateway.helpers import events, last_event

POLICIES = Path(policies.__file__).resolve().parent
PARTIES = tuple(sorted(load_covenant(policies.DEMO_REGION).parties))  # the demo region's, as every party approves
MUNICIPALITY_BLOCK = '[party_kinds.municipality]\nname = "Gemeente"\ncriminal_justice = false\nread = ["ordinary", "special"]'


def write_covenant(folder: Path, *, version: str, special_for_municipality: bool = True,
                   drop_police: bool = False, extra: str = "") -> Path:
    """A copy of the demo region (and the model it extends) in ``folder``, varied."""
    folder.mkdir(parents=True, exist_ok=True)
    model = (POLICIES / "model-covenant.toml").read_text()
    assert MUNICIPALITY_BLOCK in model
    if not special_for_municipality:
        model = model.replace(MUNICIPALITY_BLOCK, MUNICIPALITY_BLOCK.replace('"ordinary", "special"', '"ordinary"'))
    (folder / "model-covenant.toml").write_text(model)
    region = (POLICIES / "demo-region.toml").read_text().replace('version = "1"', f'version = "{version}"')
    if drop_police:
        region = re.sub(r'\[parties\.politie-eenheid-demo\]\nname = "[^"]*"\nkind = "police"\n', "", region)
    path = folder / "demo-region.toml"
    path.write_text(region + extra)
    return path


@pytest.fixture
def settings(settings, tmp_path):
    """Version 1 is the demo region where the municipality may not read special data; version 2 adds it."""
    return settings.model_copy(update={"covenant_file": write_covenant(tmp_path / "v1", version="1",
                                                                       special_for_municipality=False)})


@pytest.fixture
def v2(tmp_path) -> Path:
    return write_covenant(tmp_path / "v2", version="2")


def demo_key(runtime, party: str) -> Path:
    return Path(runtime.settings.key_folder) / service.DEMO_KEYS / f"{party}.pem"


def approve(runtime, version: str, party: str, *, key_party: str | None = None):
    signature, key_id = service.sign_with_file(runtime, version, demo_key(runtime, key_party or party))
    return service.approve(runtime, version, party=party, signature=signature, key_id=key_id)


def approvals(runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(CovenantApproval.__table__)).scalar_one()


def municipality_reads_special(runtime) -> tuple[bool, str]:
    """A linked municipality staff member reading a special-category entry, decided under the version in force."""
    now = runtime.clock()
    decision = decide(Subject(id="s-1", party="gemeente-demostad", roles=frozenset({Role.STAFF})),
                      Action.RECORD_READ,
                      Resource(client=ClientFacts(id="c-1"), category="special",
                               link=LinkFacts(id="l-1", since=now - dt.timedelta(days=1))),
                      Context(covenant=runtime.covenant, purpose="wellbeing", now=now))
    return decision.allowed, decision.covenant_version


def test_demo_mode_adopts_the_covenant_file_signed_by_every_party_with_keys_outside_the_database(runtime):
    assert runtime.covenant.label == "demo-region@1"
    [state] = service.status(runtime)
    assert state.state == service.IN_FORCE and state.missing == []
    assert state.effective_at == service.DEMO_EFFECTIVE_AT
    assert sorted(a["party"] for a in state.approvals) == list(PARTIES)
    for party in PARTIES:
        assert demo_key(runtime, party).stat().st_mode & 0o777 == 0o600
    with runtime.engine.connect() as conn:
        row = conn.execute(select(CovenantVersion.__table__)).one()
    assert row.digest == hashlib.sha256(row.document.encode()).hexdigest()
    proposed = last_event(runtime, action="covenant.propose")
    assert proposed.outcome == "permit" and proposed.detail["digest"] == row.digest
    assert len(events(runtime, action="covenant.approve")) == len(PARTIES)
    # A second start finds the version in force and adopts nothing.
    assert service.bootstrap_demo(runtime) is False


def test_a_version_missing_one_partys_signature_never_takes_effect(runtime, clock, v2):
    proposed = service.propose(runtime, v2)
    assert proposed.state == service.PROPOSED and proposed.missing == list(PARTIES)
    for party in PARTIES[:-1]:
        done = approve(runtime, "2", party)
        assert done.effective_at is None
    assert done.missing == [PARTIES[-1]]
    clock.advance(dt.timedelta(days=400))
    runtime.versions.refresh()
    assert runtime.covenant.label == "demo-region@1"
    assert municipality_reads_special(runtime) == (False, "demo-region@1")
    states = {s.version: s for s in service.status(runtime)}
    assert states["2"].state == service.PROPOSED and states["2"].missing == [PARTIES[-1]]
    assert states["1"].state == service.IN_FORCE


@pytest.mark.parametrize("attempt", ["forged", "other_party", "reused", "revoked", "unknown_key", "twice",
                                     "in_force", "not_a_party", "unknown_version", "unknown_key_file",
                                     "missing_key_file"])
def test_a_bad_approval_is_refused_recorded_and_changes_nothing(runtime, clock, v2, tmp_path, attempt):
    service.propose(runtime, v2)
    approve(runtime, "2", "ggz-rivierland")
    before = approvals(runtime)
    party, version = "opvang-de-haven", "2"
    with runtime.engine.connect() as conn:
        v1 = service._find_version(conn, "1")
    if attempt == "forged":
        error, reason = Forbidden, "signature_invalid"
        signature = sign_approval(Ed25519PrivateKey.generate(), "demo-region", "2", service.status(runtime)[1].digest)
    elif attempt == "other_party":  # the police's key, submitted as the shelter's approval
        error, reason = Forbidden, "key_of_other_party"
        signature, _ = service.sign_with_file(runtime, "2", demo_key(runtime, "politie-eenheid-demo"))
    elif attempt == "reused":  # the shelter's own signature of version 1, submitted for version 2
        error, reason = Forbidden, "signature_invalid"
        own = service.load_private_key(demo_key(runtime, party).read_bytes())
        signature = sign_approval(own, "demo-region", "1", v1.digest)
    elif attempt == "revoked":
        error, reason = Forbidden, "key_revoked"
        signature, key_id = service.sign_with_file(runtime, "2", demo_key(runtime, party))
        service.revoke_key(runtime, key_id)
    elif attempt == "unknown_key":
        error, reason = Forbidden, "signature_invalid"
        unknown = tmp_path / "unknown.pem"
        unknown.write_bytes(service.private_key_pem(Ed25519PrivateKey.generate()))
        signature, _ = service.sign_with_file(runtime, "2", unknown)
    elif attempt == "twice":
        error, reason, party = Conflict, "already_approved", "ggz-rivierland"
        signature, _ = service.sign_with_file(runtime, "2", demo_key(runtime, party))
    elif attempt == "in_force":
        error, reason, version = Conflict, "version_in_force", "1"
        signature = sign_approval(service.load_private_key(demo_key(runtime, party).read_bytes()),
                                  "demo-region", "1", v1.digest)
    elif attempt == "not_a_party":
        error, reason, party = Forbidden, "party_not_in_covenant", "reclassering-elders"
        signature, _ = service.sign_with_file(runtime, "2", demo_key(runtime, "opvang-de-haven"))
    elif attempt == "unknown_key_file":  # signed here with a key nobody registered
        error, reason, signature = Forbidden, "key_unknown", None
        unknown = tmp_path / "unknown.pem"
        unknown.write_bytes(service.private_key_pem(Ed25519PrivateKey.generate()))
    elif attempt == "missing_key_file":
        error, reason, signature = service.BadRequest, "key_file_unreadable", None
    else:
        error, reason, version = NotFound, "version_unknown", "9"
        signature = "AAAA"
    approved_before = len(events(runtime, action="covenant.approve", outcome="permit"))
    with pytest.raises(error):
        if signature is None:
            service.approve(runtime, version, party=party, private_key_file=tmp_path / "unknown.pem")
        else:
            service.approve(runtime, version, party=party, signature=signature)
    assert approvals(runtime) == before
    refused = last_event(runtime, action="covenant.approve")
    assert (refused.outcome, refused.reason) == ("deny", reason)
    assert refused.detail["party"] == party
    assert len(events(runtime, action="covenant.approve", outcome="permit")) == approved_before
    assert runtime.covenant.label == "demo-region@1"


def test_a_signature_names_its_covenant_version_and_digest_under_a_domain():
    message = approval_message("demo-region", "2", "ab" * 32)
    assert b'"domain":"covenant-gateway:covenant-version-approval:v1"' in message
    assert message != approval_message("demo-region", "3", "ab" * 32)
    assert message != approval_message("demo-region", "2", "cd" * 32)
    assert message != approval_message("other-region", "2", "ab" * 32)
    # RFC 8785: key order and layout of the source do not matter.
    assert canonical_document({"b": 1, "a": [1, "x"]}) == canonical_document({"a": [1, "x"], "b": 1}) \
        == b'{"a":[1,"x"],"b":1}'


def test_decisions_and_events_switch_at_the_moment_the_new_version_takes_effect(runtime, clock, v2, demo):
    effective_from = clock() + dt.timedelta(hours=2)
    service.propose(runtime, v2, effective_from=effective_from)
    for party in PARTIES:
        done = approve(runtime, "2", party)
    assert done.effective_at == effective_from and done.missing == []
    assert last_event(runtime, action="covenant.approve").detail["effective_at"] == effective_from.isoformat()
    staff = uuid.UUID(demo.staff["client_manager"])

    clock.set(effective_from - dt.timedelta(microseconds=1))
    assert municipality_reads_special(runtime) == (False, "demo-region@1")
    issue_token(runtime, staff_id=staff)
    assert last_event(runtime, action="token.issue").covenant_version == "demo-region@1"
    assert {s.version: s.state for s in service.status(runtime)} == {"1": service.IN_FORCE, "2": service.SCHEDULED}

    clock.set(effective_from)
    assert municipality_reads_special(runtime) == (True, "demo-region@2")
    issue_token(runtime, staff_id=staff)
    assert last_event(runtime, action="token.issue").covenant_version == "demo-region@2"
    assert {s.version: s.state for s in service.status(runtime)} == {"1": service.SUPERSEDED, "2": service.IN_FORCE}
    with pytest.raises(Conflict):
        approve(runtime, "1", "opvang-de-haven")
    assert last_event(runtime, action="covenant.approve").reason == "version_superseded"


def test_without_an_effective_from_the_last_approval_puts_the_version_in_force(runtime, clock, v2):
    service.propose(runtime, v2)
    for party in PARTIES[:-1]:
        approve(runtime, "2", party)
    clock.advance(dt.timedelta(minutes=5))
    assert municipality_reads_special(runtime) == (False, "demo-region@1")
    done = approve(runtime, "2", PARTIES[-1])
    assert done.effective_at == clock()
    assert municipality_reads_special(runtime) == (True, "demo-region@2")


def test_a_party_the_new_version_drops_must_consent_too(runtime, tmp_path):
    service.propose(runtime, write_covenant(tmp_path / "v2", version="2", drop_police=True))
    remaining = [p for p in PARTIES if p != "politie-eenheid-demo"]
    for party in remaining:
        done = approve(runtime, "2", party)
    assert done.missing == ["politie-eenheid-demo"] and done.effective_at is None
    assert runtime.covenant.label == "demo-region@1"
    done = approve(runtime, "2", "politie-eenheid-demo")
    assert done.effective_at is not None
    assert runtime.covenant.label == "demo-region@2" and "politie-eenheid-demo" not in runtime.covenant.parties


def test_a_second_instance_picks_the_new_version_up_within_its_refresh_interval(runtime, settings, clock, v2):
    other = Runtime.build(settings, clock=clock)  # another gateway process on the same database
    ticks = [1000.0]
    other.versions.monotonic = lambda: ticks[0]
    other.versions.refresh()
    try:
        assert other.covenant.label == "demo-region@1"
        service.propose(runtime, v2)
        for party in PARTIES:
            approve(runtime, "2", party)
        assert runtime.covenant.label == "demo-region@2"  # the instance that completed it: at once
        ticks[0] += other.versions.refresh_seconds - 0.5
        assert other.covenant.label == "demo-region@1"
        ticks[0] += 0.5
        assert other.covenant.label == "demo-region@2"
    finally:
        other.close()


def test_proposals_are_refused_for_an_existing_version_an_invalid_document_or_a_past_moment(runtime, clock, tmp_path):
    with pytest.raises(Conflict):
        service.propose(runtime, write_covenant(tmp_path / "again", version="1"))
    assert last_event(runtime, action="covenant.propose").reason == "version_exists"
    with pytest.raises(service.InvalidCovenantDocument):
        service.propose(runtime, write_covenant(tmp_path / "bad", version="3", extra="\n[unknown]\nx = 1\n"))
    assert last_event(runtime, action="covenant.propose").reason == "document_invalid"
    with pytest.raises(service.BadRequest):
        service.propose(runtime, write_covenant(tmp_path / "past", version="4"),
                        effective_from=clock() - dt.timedelta(seconds=1))
    assert last_event(runtime, action="covenant.propose").reason == "effective_from_invalid"
    assert [s.version for s in service.status(runtime)] == ["1"]


def test_keys_are_registered_listed_and_revoked_by_fingerprint(runtime, tmp_path):
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "haven.pub"
    public.write_bytes(public_key_pem(key.public_key()))
    key_id = service.add_key(runtime, "opvang-de-haven", public)
    assert key_id.startswith("ed25519:") and len(key_id) == len("ed25519:") + 32
    with pytest.raises(Conflict):
        service.add_key(runtime, "opvang-de-haven", public)
    with pytest.raises(service.InvalidRequest):
        service.add_key(runtime, "nobody", public)
    listed = {k["key_id"]: k for k in service.list_keys(runtime)}
    assert listed[key_id]["party"] == "opvang-de-haven" and listed[key_id]["revoked_at"] is None
    service.revoke_key(runtime, key_id)
    with pytest.raises(Conflict):
        service.revoke_key(runtime, key_id)
    assert {k["key_id"]: k for k in service.list_keys(runtime)}[key_id]["revoked_at"] is not None
    assert [(e.outcome, e.reason) for e in events(runtime, action="covenant.key_revoke")] == [
        ("permit", "permitted"), ("deny", "key_revoked")]


def test_diff_shows_what_changed_between_two_versions(runtime, v2):
    service.propose(runtime, v2)
    text = service.diff(runtime, "1", "demo-region@2")
    assert text.startswith("--- demo-region@1\n+++ demo-region@2\n")
    assert '-    "version": "1"' in text and '+    "version": "2"' in text
    assert '+        "special"' in text
    with pytest.raises(NotFound):
        service.diff(runtime, "1", "7")


def test_production_serves_nothing_without_a_version_in_force(runtime, settings, clock):
    from sqlalchemy import create_engine

    from gateway.covenants.registry import CovenantVersions

    empty = CovenantVersions(create_engine("sqlite://"), refresh_seconds=60)
    empty._loaded_at = empty.monotonic()  # nothing read: as a fresh production database
    runtime.versions, kept = empty, runtime.versions
    try:
        with pytest.raises(CovenantNotInForce):
            runtime.covenant
        # The covenant's own administration is decided by the file until a version is in force.
        assert runtime.governing_covenant() is runtime.file_covenant
    finally:
        runtime.versions = kept
