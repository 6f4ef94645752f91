"""Sealing on real databases: checkpoints over the trail, proofs from it, and every kind of tampering
with sealed events caught against the stored checkpoints and against a witness's copy."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event, insert, select, update

from audit import AuditCheckpoint, AuditEvent, GroupCommitter, Sealed, merkle, verify_chain, verify_sealed
from audit import seal as audit_seal
from audit.chain import GENESIS, link
from audit.checkpoint import Checkpoint, checkpoints_document, key_id, read_checkpoints_document, verify_extension
from gateway.db import create_db_engine
from tests.audit.helpers import START, unit, without_append_only_guard

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}


class Trail:
    def __init__(self, url: str) -> None:
        self.writer = create_db_engine(url, writer=True)
        self.reader = create_db_engine(url)
        self.committer = GroupCommitter(self.writer)
        self.appended = 0

    def append(self, count: int) -> None:
        for _ in range(count):
            self.appended += 1
            self.committer.commit(unit(self.appended))

    def seal(self, key=KEY) -> Checkpoint | None:
        return audit_seal.seal(self.reader, self.writer, key, now=START + dt.timedelta(minutes=self.appended))

    def checkpoints(self) -> list[Checkpoint]:
        with self.reader.connect() as conn:
            return audit_seal.checkpoints(conn)

    def verify(self, witness: list[Checkpoint] = (), keys=KEYS):
        sealed = [Sealed(c) for c in self.checkpoints()] + [Sealed(c, "witness") for c in witness]
        with self.reader.connect() as conn:
            return verify_sealed(conn, sealed, keys)

    def close(self) -> None:
        self.committer.close()
        self.writer.dispose()
        self.reader.dispose()


@pytest.fixture
def trail(databases):
    trail = Trail(databases.data_url)
    yield trail
    trail.close()


@pytest.fixture
def sealed(trail):
    """40 events, sealed at 10, 25 and 40."""
    for count in (10, 15, 15):
        trail.append(count)
        trail.seal()
    return trail


def chain_hashes(trail) -> list[bytes]:
    with trail.reader.connect() as conn:
        return list(conn.execute(select(AuditEvent.hash).order_by(AuditEvent.seq)).scalars())


def test_seal_signs_the_root_of_every_event_so_far(sealed):
    checkpoints = sealed.checkpoints()
    assert [c.tree_size for c in checkpoints] == [10, 25, 40]
    hashes = chain_hashes(sealed)
    for checkpoint in checkpoints:
        assert checkpoint.verifies(KEYS)
        assert checkpoint.root_hash == merkle.root(hashes[:checkpoint.tree_size])
    report = sealed.verify()
    assert (report.ok, report.events, report.checkpoints) == (True, 40, 3)


def test_nothing_new_nothing_sealed(sealed):
    assert sealed.seal() is None
    assert len(sealed.checkpoints()) == 3


def test_an_empty_trail_has_nothing_to_seal(trail):
    assert trail.seal() is None and trail.checkpoints() == []


def test_consecutive_checkpoints_are_consistent(sealed):
    first, second, third = sealed.checkpoints()
    with sealed.reader.connect() as conn:
        for old, new in ((first, second), (second, third), (first, third)):
            proof = audit_seal.consistency(conn, old, new)
            assert merkle.verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)
            assert not merkle.verify_consistency(old.tree_size, new.tree_size, new.root_hash, new.root_hash, proof)


def test_a_consistency_proof_between_stored_checkpoints_verifies_for_a_witness(sealed):
    first, second, third = sealed.checkpoints()
    with sealed.reader.connect() as conn:
        proof = audit_seal.prove_consistency(conn, 10, 40)
        assert (proof.first, proof.second) == (first, third)
        assert verify_extension(first, proof, KEYS)
        assert verify_extension(second, audit_seal.prove_consistency(conn, 25, 25), KEYS)
        assert audit_seal.prove_consistency(conn, 10, 39) is None
        assert audit_seal.prove_consistency(conn, 11, 40) is None
        with pytest.raises(ValueError):
            audit_seal.prove_consistency(conn, 25, 10)


def test_every_event_has_an_inclusion_proof_that_verifies(sealed):
    with sealed.reader.connect() as conn:
        rows = conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)).mappings().all()
        for row in rows:
            proof = audit_seal.prove(conn, row["id"])
            assert proof.checkpoint.tree_size == 40 and proof.verifies(KEYS)
            # Whoever holds the event recomputes the leaf from it.
            assert link(proof.prev_hash, row) == proof.event_hash
        older = sealed.checkpoints()[0]
        assert audit_seal.prove(conn, rows[3]["id"], checkpoint=older).verifies(KEYS)
        assert audit_seal.prove(conn, uuid.uuid4()) is None


def test_a_tampered_inclusion_proof_fails(sealed):
    with sealed.reader.connect() as conn:
        event_id = conn.execute(select(AuditEvent.id).where(AuditEvent.seq == 17)).scalar_one()
        proof = audit_seal.prove(conn, event_id)
    path = list(proof.audit_path)
    path[1] = bytes(32)
    grown = Checkpoint.from_json({**proof.checkpoint.as_json(), "tree_size": 41})
    assert not type(proof)(**{**_fields(proof), "checkpoint": grown}).verifies(KEYS)
    assert not type(proof)(**{**_fields(proof), "audit_path": tuple(path)}).verifies(KEYS)
    assert not type(proof)(**{**_fields(proof), "event_hash": bytes(32)}).verifies(KEYS)


def _fields(proof):
    return {name: getattr(proof, name) for name in proof.__slots__}


def test_an_event_not_yet_sealed_has_no_proof(sealed):
    sealed.append(1)
    with sealed.reader.connect() as conn:
        event_id = conn.execute(select(AuditEvent.id).where(AuditEvent.seq == 41)).scalar_one()
        with pytest.raises(audit_seal.NotSealed):
            audit_seal.prove(conn, event_id)


def test_appending_after_a_seal_is_unchanged_and_the_next_seal_builds_on_the_last(sealed):
    sealed.append(7)
    checkpoint = sealed.seal()
    assert checkpoint.tree_size == 47
    assert checkpoint.root_hash == merkle.root(chain_hashes(sealed))
    assert sealed.verify().ok


def test_a_crash_between_append_and_seal_loses_nothing(databases):
    first = Trail(databases.data_url)
    first.append(12)
    first.seal()
    first.append(9)  # appended, durable, and then the process dies before sealing
    first.close()
    restarted = Trail(databases.data_url)
    restarted.appended = 21
    checkpoint = restarted.seal()
    assert checkpoint.tree_size == 21 and restarted.verify().ok
    restarted.close()


def test_a_crash_in_the_middle_of_a_seal_loses_nothing(databases):
    trail = Trail(databases.data_url)
    trail.append(12)

    def die(conn, cursor, statement, parameters, context, executemany):
        if "audit_checkpoint" in statement and statement.lstrip().upper().startswith("INSERT"):
            raise RuntimeError("power cut")

    event.listen(trail.writer, "before_cursor_execute", die)
    with pytest.raises(RuntimeError, match="power cut"):
        trail.seal()
    event.remove(trail.writer, "before_cursor_execute", die)
    assert trail.checkpoints() == []
    trail.append(3)
    assert trail.seal().tree_size == 15 and trail.verify().ok
    trail.close()


def test_checkpoints_are_append_only(sealed):
    for statement in (update(AuditCheckpoint).values(root_hash=bytes(32)),
                      AuditCheckpoint.__table__.delete()):
        with pytest.raises(Exception, match="append-only"):
            with sealed.writer.begin() as conn:
                conn.execute(statement)


# -- tampering: the trail changed after it was sealed -------------------------------------------------


def tamper(trail, *statements):
    with without_append_only_guard(trail.writer) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def recompute_chain(trail) -> None:
    """What a forger with database access does to hide a change: recompute every hash after it."""
    with without_append_only_guard(trail.writer) as conn:
        rows = conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)).mappings().all()
        prev = GENESIS
        for row in rows:
            values = dict(row, prev_hash=prev)
            values["hash"] = link(prev, values)
            conn.execute(update(AuditEvent).where(AuditEvent.seq == row["seq"])
                         .values(prev_hash=values["prev_hash"], hash=values["hash"]))
            prev = values["hash"]
        conn.commit()


@pytest.mark.tampers
def test_a_changed_sealed_event_is_named_with_its_checkpoint(sealed):
    tamper(sealed, update(AuditEvent).where(AuditEvent.seq == 17).values(reason="permitted_by_dba"))
    report = sealed.verify()
    assert (report.ok, report.first_bad_seq, report.first_bad_checkpoint) == (False, 17, 25)
    assert "broken at event 17 (checkpoint 25)" in report.describe()


@pytest.mark.tampers
def test_a_deleted_sealed_event_is_named(sealed):
    tamper(sealed, AuditEvent.__table__.delete().where(AuditEvent.seq == 5))
    report = sealed.verify()
    assert (report.ok, report.first_bad_seq, report.first_bad_checkpoint) == (False, 5, 10)


@pytest.mark.tampers
def test_an_inserted_event_is_caught(sealed):
    tamper(sealed, *[update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq + 1000)
                     for seq in range(40, 29, -1)],
           *[update(AuditEvent).where(AuditEvent.seq == seq + 1000).values(seq=seq + 1) for seq in range(30, 41)])
    with sealed.writer.connect() as conn:
        previous = dict(conn.execute(select(AuditEvent.__table__).where(AuditEvent.seq == 29)).mappings().one())
    forged = dict(previous, seq=30, id=uuid.uuid4(), actor_id="forger", prev_hash=previous["hash"])
    forged["hash"] = link(previous["hash"], forged)
    tamper(sealed, insert(AuditEvent).values(**forged))
    report = sealed.verify()
    assert (report.ok, report.first_bad_seq) == (False, 31)


@pytest.mark.tampers
def test_reordered_sealed_events_are_named(sealed):
    tamper(sealed, *[update(AuditEvent).where(AuditEvent.seq == old).values(seq=new)
                     for old, new in ((30, -30), (31, 30), (-30, 31))])
    report = sealed.verify()
    assert (report.ok, report.first_bad_seq, report.first_bad_checkpoint) == (False, 30, 40)


@pytest.mark.tampers
@pytest.mark.parametrize("change", ["edit", "delete", "insert", "reorder"])
def test_a_consistently_rewritten_trail_passes_the_chain_but_not_the_checkpoints(sealed, change):
    if change == "edit":
        tamper(sealed, update(AuditEvent).where(AuditEvent.seq == 17).values(actor_id="someone-else"))
    elif change == "delete":
        tamper(sealed, AuditEvent.__table__.delete().where(AuditEvent.seq == 17),
               *[update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq - 1) for seq in range(18, 41)])
    elif change == "insert":
        tamper(sealed, *[update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq + 1)
                         for seq in range(40, 16, -1)])
        with sealed.writer.connect() as conn:
            template = dict(conn.execute(select(AuditEvent.__table__).where(AuditEvent.seq == 16)).mappings().one())
        tamper(sealed, insert(AuditEvent).values(**dict(template, seq=17, id=uuid.uuid4(), actor_id="forger")))
    else:
        tamper(sealed, *[update(AuditEvent).where(AuditEvent.seq == old).values(seq=new)
                         for old, new in ((17, -17), (18, 17), (-17, 18))])
    recompute_chain(sealed)
    with sealed.reader.connect() as conn:
        assert verify_chain(conn).ok  # the chain alone is fooled
    report = sealed.verify()
    assert (report.ok, report.first_bad_checkpoint) == (False, 25)
    assert "between 11 and 25" in report.problem
    assert "broken at checkpoint 25" in report.describe()


@pytest.mark.tampers
def test_a_consistency_proof_from_a_rewritten_trail_fails_for_the_witness(sealed):
    held = sealed.checkpoints()[0]
    tamper(sealed, update(AuditEvent).where(AuditEvent.seq == 7).values(actor_id="someone-else"))
    recompute_chain(sealed)
    # The stored checkpoints are untouched and signed; the proof, built from the rewritten events, is
    # what gives the rewrite away to a witness who holds only the first checkpoint.
    with sealed.reader.connect() as conn:
        proof = audit_seal.prove_consistency(conn, 10, 40)
    assert proof.first == held and proof.second.verifies(KEYS)
    assert not verify_extension(held, proof, KEYS)


@pytest.mark.tampers
def test_no_consistency_proof_over_a_missing_event(sealed):
    tamper(sealed, AuditEvent.__table__.delete().where(AuditEvent.seq == 30))
    with sealed.reader.connect() as conn:
        with pytest.raises(audit_seal.SealRefused):
            audit_seal.prove_consistency(conn, 10, 40, batch=7)
        assert audit_seal.prove_consistency(conn, 10, 25, batch=7).verifies(KEYS)


@pytest.mark.tampers
def test_a_truncated_trail_is_caught(sealed):
    tamper(sealed, AuditEvent.__table__.delete().where(AuditEvent.seq > 33))
    with sealed.reader.connect() as conn:
        assert verify_chain(conn).ok
    report = sealed.verify()
    assert (report.ok, report.first_bad_seq, report.first_bad_checkpoint) == (False, 34, 40)


@pytest.mark.tampers
def test_a_changed_or_forged_checkpoint_is_named(sealed):
    tamper(sealed, update(AuditCheckpoint).where(AuditCheckpoint.tree_size == 25).values(root_hash=bytes(32)))
    report = sealed.verify()
    assert (report.ok, report.first_bad_checkpoint) == (False, 25)
    assert "signature does not verify" in report.problem


@pytest.mark.tampers
def test_seal_refuses_to_sign_a_broken_trail(sealed):
    sealed.append(5)
    tamper(sealed, update(AuditEvent).where(AuditEvent.seq == 43).values(reason="x"))
    with pytest.raises(audit_seal.SealRefused) as refused:
        sealed.seal()
    assert refused.value.seq == 43
    assert [c.tree_size for c in sealed.checkpoints()] == [10, 25, 40]


@pytest.mark.tampers
def test_a_rewrite_resealed_with_the_stolen_key_is_caught_by_the_witness(sealed):
    # The witness took the checkpoints when they were made.
    witness, witness_keys = read_checkpoints_document(checkpoints_document(sealed.checkpoints(), KEY.public_key()))
    # A forger with the database and the key folder rewrites event 17, recomputes the chain, throws the
    # checkpoints away and seals again.
    tamper(sealed, update(AuditEvent).where(AuditEvent.seq == 17).values(actor_id="someone-else"),
           AuditCheckpoint.__table__.delete())
    recompute_chain(sealed)
    sealed.seal()
    assert sealed.verify().ok  # the stored checkpoints alone are fooled now
    report = sealed.verify(witness=witness, keys=witness_keys)
    assert (report.ok, report.first_bad_checkpoint) == (False, 25)
    assert "witness" in report.problem
