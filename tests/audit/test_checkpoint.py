"""Signed checkpoints, pure: what is signed, what breaks a signature, the witness's file."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import merkle
from audit.checkpoint import (Checkpoint, ConsistencyProof, InclusionProof, checkpoints_document, key_from_jwk,
                              key_id, public_jwk, read_checkpoints_document, verify_extension)

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
AT = dt.datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=dt.UTC)
ROOT = merkle.root([b"a", b"b", b"c"])


def signed(**changes) -> Checkpoint:
    values = dict(tree_size=3, root_hash=ROOT, sealed_at=AT)
    values.update(changes)
    return Checkpoint.sign(KEY, **values)


def test_a_checkpoint_verifies_with_its_key_only():
    checkpoint = signed()
    assert checkpoint.verifies(KEYS)
    assert not checkpoint.verifies({})
    assert not checkpoint.verifies({checkpoint.key_id: OTHER.public_key()})


@pytest.mark.parametrize("change", [
    {"tree_size": 4}, {"root_hash": merkle.root([b"a", b"b", b"x"])}, {"sealed_at": AT + dt.timedelta(microseconds=1)},
    {"signature": bytes(64)},
])
def test_any_change_breaks_the_signature(change):
    assert not dataclasses.replace(signed(), **change).verifies(KEYS)


def test_the_signed_note_names_origin_size_root_time_and_key():
    checkpoint = signed()
    note = Checkpoint.message(3, ROOT, AT, checkpoint.key_id).decode().splitlines()
    assert note[0] == "covenant-gateway/audit-checkpoint/v1"
    assert note[1:] == ["3", note[2], "2026-11-23T09:00:00.123456Z", checkpoint.key_id]


def test_naive_moments_and_bad_roots_are_refused():
    with pytest.raises(ValueError):
        signed(sealed_at=AT.replace(tzinfo=None))
    with pytest.raises(ValueError):
        signed(root_hash=b"short")


def test_json_round_trip_keeps_the_signature_valid():
    checkpoint = signed()
    again = Checkpoint.from_json(checkpoint.as_json())
    assert again == checkpoint and again.verifies(KEYS)


def test_the_witness_document_round_trips():
    checkpoints = [signed(tree_size=1, root_hash=merkle.root([b"a"])), signed()]
    held, keys = read_checkpoints_document(checkpoints_document(checkpoints, KEY.public_key()))
    assert held == checkpoints and keys == KEYS
    assert all(checkpoint.verifies(keys) for checkpoint in held)


@pytest.mark.parametrize("document", [
    {}, {"format": "something else"}, {"format": "covenant-gateway/audit-checkpoint/v1"},
    {"format": "covenant-gateway/audit-checkpoint/v1", "public_keys": [{"kty": "RSA"}], "checkpoints": []},
    {"format": "covenant-gateway/audit-checkpoint/v1", "public_keys": [],
     "checkpoints": [{"tree_size": -1, "root_hash": ROOT.hex(), "sealed_at": "2026-11-23T09:00:00.000000Z",
                      "key_id": "x", "signature": ""}]},
])
def test_a_malformed_witness_document_is_refused(document):
    with pytest.raises(ValueError):
        read_checkpoints_document(document)


def test_a_jwk_whose_kid_is_not_its_key_is_refused():
    jwk = public_jwk(KEY.public_key())
    assert key_id(key_from_jwk(jwk)) == jwk["kid"]
    with pytest.raises(ValueError):
        key_from_jwk({**jwk, "kid": key_id(OTHER.public_key())})


def test_an_inclusion_proof_verifies_and_a_tampered_one_does_not():
    leaves = [bytes([i]) * 32 for i in range(7)]
    checkpoint = signed(tree_size=7, root_hash=merkle.root(leaves))
    proof = InclusionProof(event_id="e", seq=5, event_hash=leaves[4], prev_hash=leaves[3],
                           audit_path=tuple(merkle.inclusion_proof(leaves, 4)), checkpoint=checkpoint)
    assert proof.verifies(KEYS)
    assert InclusionProof.from_json(proof.as_json()) == proof
    assert not dataclasses.replace(proof, seq=4).verifies(KEYS)
    assert not dataclasses.replace(proof, event_hash=leaves[5]).verifies(KEYS)
    assert not dataclasses.replace(proof, audit_path=proof.audit_path[::-1]).verifies(KEYS)
    assert not dataclasses.replace(proof, checkpoint=dataclasses.replace(checkpoint, tree_size=8)).verifies(KEYS)
    assert not proof.verifies({})


LEAVES = [bytes([n]) * 32 for n in range(13)]


def consistency(data, old_size, key=KEY):
    old = Checkpoint.sign(KEY, tree_size=old_size, root_hash=merkle.root(LEAVES[:old_size]), sealed_at=AT)
    new = Checkpoint.sign(key, tree_size=len(data), root_hash=merkle.root(data), sealed_at=AT)
    return old, ConsistencyProof(first=old, second=new, proof=tuple(merkle.consistency_proof(data, old_size)))


@pytest.mark.parametrize("old_size", [1, 4, 5, 8, 13])
def test_a_witness_sees_that_the_trail_only_grew(old_size):
    held, proof = consistency(LEAVES, old_size)
    assert verify_extension(held, ConsistencyProof.from_json(proof.as_json()), KEYS)


@pytest.mark.parametrize("old_size", [1, 4, 5, 8])
def test_a_witness_sees_a_rewritten_trail_even_when_the_gateway_signs_it(old_size):
    rewritten = list(LEAVES)
    rewritten[old_size - 1] = b"\xff" * 32  # an event the witness's checkpoint sealed, changed
    held, proof = consistency(rewritten, old_size)
    assert proof.second.verifies(KEYS)  # signed with the gateway's own key: the signature alone is fooled
    assert not verify_extension(held, proof, KEYS)
    # Nor does it help to show the witness a "first" checkpoint re-signed over the rewritten trail.
    forged_first = Checkpoint.sign(KEY, tree_size=old_size, root_hash=merkle.root(rewritten[:old_size]), sealed_at=AT)
    forged = dataclasses.replace(proof, first=forged_first)
    assert forged.verifies(KEYS) and not verify_extension(held, forged, KEYS)


def test_a_proof_by_another_key_or_tampered_does_not_verify():
    held, proof = consistency(LEAVES, 5, key=OTHER)
    assert not verify_extension(held, proof, KEYS)
    held, proof = consistency(LEAVES, 5)
    assert not verify_extension(held, dataclasses.replace(proof, proof=proof.proof[:-1]), KEYS)
    assert not verify_extension(held, dataclasses.replace(proof, proof=(bytes(32),) + proof.proof[1:]), KEYS)
    other_size = Checkpoint.sign(KEY, tree_size=4, root_hash=merkle.root(LEAVES[:4]), sealed_at=AT)
    assert not verify_extension(other_size, proof, KEYS)


def test_a_malformed_consistency_proof_is_refused():
    with pytest.raises(ValueError):
        ConsistencyProof.from_json({"first": signed().as_json()})
