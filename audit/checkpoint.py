"""Signed checkpoints and inclusion proofs, pure: what a witness keeps and what a proof carries.

A checkpoint says "the first ``tree_size`` events of this trail have Merkle root ``root_hash``"
(:mod:`audit.merkle`), when it was sealed and by which key, signed with the gateway's Ed25519 key.
The signed bytes are a short text in the spirit of the C2SP ``tlog-checkpoint`` note::

    covenant-gateway/audit-checkpoint/v1
    <tree_size>
    <root_hash, base64>
    <sealed_at, RFC 3339 UTC, microseconds>
    <key_id>

``key_id`` is the first 16 hex digits of SHA-256 over the raw public key, so that a verifier with
several keys (after a rotation) knows which one to use. A witness keeps the JSON of the checkpoints
and the public key (``gateway audit checkpoints --out FILE``); it needs no event to detect later
that the trail it was shown has been rewritten, truncated or forked: the trail's recomputed root at
each of its checkpoints must still be the one it holds.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit import merkle

ORIGIN = "covenant-gateway/audit-checkpoint/v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _moment(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("checkpoint moments must be zone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK (RFC 8037), with its key id; what a witness keeps."""
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw_public_key(key)), "kid": key_id(key),
            "use": "sig", "alg": "EdDSA"}


def key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an Ed25519 public key")
    x = str(jwk["x"])
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
    if "kid" in jwk and jwk["kid"] != key_id(key):
        raise ValueError("the key's kid does not match the key")
    return key


@dataclass(frozen=True, slots=True)
class Checkpoint:
    tree_size: int
    root_hash: bytes
    sealed_at: dt.datetime
    key_id: str
    signature: bytes

    @staticmethod
    def message(tree_size: int, root_hash: bytes, sealed_at: dt.datetime, signer_key_id: str) -> bytes:
        """The bytes the signature covers."""
        return (f"{ORIGIN}\n{tree_size}\n{_b64(root_hash)}\n{_moment(sealed_at)}\n{signer_key_id}\n").encode()

    @classmethod
    def sign(cls, private_key: Ed25519PrivateKey, *, tree_size: int, root_hash: bytes,
             sealed_at: dt.datetime) -> "Checkpoint":
        if tree_size < 0 or len(root_hash) != 32:
            raise ValueError("a checkpoint covers a non-negative number of events and a SHA-256 root")
        kid = key_id(private_key.public_key())
        signature = private_key.sign(cls.message(tree_size, root_hash, sealed_at, kid))
        return cls(tree_size, root_hash, sealed_at, kid, signature)

    def verifies(self, keys: Mapping[str, Ed25519PublicKey]) -> bool:
        """Is the signature by the named key, one of ``keys`` (by key id), over this checkpoint?"""
        key = keys.get(self.key_id)
        if key is None:
            return False
        try:
            key.verify(self.signature, self.message(self.tree_size, self.root_hash, self.sealed_at, self.key_id))
        except InvalidSignature:
            return False
        return True

    def as_json(self) -> dict[str, Any]:
        return {"tree_size": self.tree_size, "root_hash": self.root_hash.hex(),
                "sealed_at": _moment(self.sealed_at), "key_id": self.key_id,
                "signature": _b64(self.signature)}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "Checkpoint":
        sealed_at = dt.datetime.strptime(document["sealed_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        size = document["tree_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("tree_size must be a non-negative integer")
        root_hash = bytes.fromhex(document["root_hash"])
        if len(root_hash) != 32:
            raise ValueError("root_hash must be 32 bytes")
        return cls(size, root_hash, sealed_at, str(document["key_id"]), _unb64(document["signature"]))


def checkpoints_document(checkpoints: Sequence[Checkpoint], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """What ``gateway audit checkpoints`` exports for witnesses: the checkpoints and the key that signed them."""
    return {"format": ORIGIN, "public_keys": [public_jwk(public_key)],
            "checkpoints": [checkpoint.as_json() for checkpoint in checkpoints]}


def read_checkpoints_document(document: Mapping[str, Any]) -> tuple[list[Checkpoint], dict[str, Ed25519PublicKey]]:
    """The checkpoints and public keys of a witness's file; raises ``ValueError`` on a malformed one."""
    if document.get("format") != ORIGIN:
        raise ValueError(f"not a checkpoints file (format {ORIGIN!r} expected)")
    try:
        keys = {}
        for jwk in document["public_keys"]:
            key = key_from_jwk(jwk)
            keys[key_id(key)] = key
        return [Checkpoint.from_json(item) for item in document["checkpoints"]], keys
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed checkpoints file: {exc}") from None


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """That the event with chain hash ``event_hash`` is leaf ``seq - 1`` of the checkpoint's tree.

    Whoever holds the event itself checks first that ``audit.chain.link(prev_hash, event) ==
    event_hash``; then that the audit path leads to the checkpoint's root; then the signature.
    """

    event_id: str
    seq: int
    event_hash: bytes
    prev_hash: bytes
    audit_path: tuple[bytes, ...]
    checkpoint: Checkpoint

    def verifies(self, keys: Mapping[str, Ed25519PublicKey]) -> bool:
        return (self.checkpoint.verifies(keys)
                and merkle.verify_inclusion(self.event_hash, self.seq - 1, self.checkpoint.tree_size,
                                            self.audit_path, self.checkpoint.root_hash))

    def as_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "seq": self.seq, "leaf_index": self.seq - 1,
                "event_hash": self.event_hash.hex(), "prev_hash": self.prev_hash.hex(),
                "audit_path": [h.hex() for h in self.audit_path], "checkpoint": self.checkpoint.as_json()}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "InclusionProof":
        return cls(event_id=str(document["event_id"]), seq=int(document["seq"]),
                   event_hash=bytes.fromhex(document["event_hash"]), prev_hash=bytes.fromhex(document["prev_hash"]),
                   audit_path=tuple(bytes.fromhex(h) for h in document["audit_path"]),
                   checkpoint=Checkpoint.from_json(document["checkpoint"]))


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """That checkpoint ``second`` extends checkpoint ``first`` unchanged (RFC 9162 section 2.1.4):
    the first ``first.tree_size`` events under ``second`` are the ones ``first`` sealed.

    Hashes only: no event, so anyone may hold it. A witness does not take ``first`` from the proof on
    trust; it checks the proof against the checkpoint it holds (:func:`verify_extension`).
    """

    first: Checkpoint
    second: Checkpoint
    proof: tuple[bytes, ...]

    def verifies(self, keys: Mapping[str, Ed25519PublicKey]) -> bool:
        """Both checkpoints signed by one of ``keys``, and the proof leads from the first root to the second."""
        return (self.first.verifies(keys) and self.second.verifies(keys)
                and merkle.verify_consistency(self.first.tree_size, self.second.tree_size, self.first.root_hash,
                                              self.second.root_hash, self.proof))

    def as_json(self) -> dict[str, Any]:
        return {"first": self.first.as_json(), "second": self.second.as_json(),
                "proof": [h.hex() for h in self.proof]}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "ConsistencyProof":
        """Raises ``ValueError`` on a malformed document."""
        try:
            return cls(first=Checkpoint.from_json(document["first"]), second=Checkpoint.from_json(document["second"]),
                       proof=tuple(bytes.fromhex(h) for h in document["proof"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed consistency proof: {exc}") from None


def verify_extension(held: Checkpoint, proof: ConsistencyProof, keys: Mapping[str, Ed25519PublicKey]) -> bool:
    """A witness's check that the trail it was shown at ``held`` has only grown since.

    ``held`` is the checkpoint the witness kept (from ``gateway audit checkpoints`` or
    ``/v1/audit/checkpoints/latest``), ``proof`` what ``gateway audit consistency`` or
    ``/v1/audit/checkpoints/consistency`` gave for ``held``'s size and a later one, ``keys`` the public
    keys the witness trusts (not the key a proof document carries). True when the proof starts at the
    very root the witness holds, both checkpoints are signed, and the later tree extends the held one.
    False means the gateway now shows a trail whose first ``held.tree_size`` events differ from what
    was sealed (rewritten, truncated, forked), or a proof that is not one.
    """
    return (held.tree_size == proof.first.tree_size and held.root_hash == proof.first.root_hash
            and held.verifies(keys) and proof.verifies(keys))
