from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer


class AuditEventRead(BaseModel):
    """One event of the trail, as NEN 7513 asks: who, for which party, which client (by pseudonym),
    what on what, when, from where, for which purpose (and the processing activity of the register it
    served, art. 15), the outcome, and the authority it rested on."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    id: uuid.UUID
    occurred_at: dt.datetime
    action: str
    outcome: str
    reason: str
    actor_id: str | None
    actor_roles: str | None
    actor_party: str | None
    on_behalf_of: str | None
    client_pseudonym: str | None
    object_type: str | None
    object_id: str | None
    categories: str | None
    purpose: str | None
    activity: str | None
    authority: str | None
    covenant_version: str | None
    access_point: str | None
    source_system: str | None
    request_id: str | None
    detail: dict[str, Any] | None
    traceparent: str | None
    prev_hash: bytes
    hash: bytes

    @field_serializer("prev_hash", "hash")
    def _hex(self, value: bytes) -> str:
        return value.hex()


class CheckpointRead(BaseModel):
    """A signed checkpoint: the first ``tree_size`` events of the trail have Merkle root ``root_hash``
    (RFC 9162 tree over the events' chain hashes); the Ed25519 ``signature`` (base64) covers the
    checkpoint note (see ``audit.checkpoint``)."""

    tree_size: int
    root_hash: str
    sealed_at: str
    key_id: str
    signature: str


class PublicKeyRead(BaseModel):
    """The gateway's checkpoint-signing key, as a JWK (RFC 8037)."""

    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str


class LatestCheckpointRead(BaseModel):
    checkpoint: CheckpointRead
    public_key: PublicKeyRead


class InclusionProofRead(BaseModel):
    """That the event (chain hash ``event_hash``) is leaf ``leaf_index`` of the checkpoint's tree.

    Verify: ``event_hash == SHA-256(prev_hash || canonical(event))`` for the event as read from
    ``/v1/audit/events``; the RFC 9162 section 2.1.3.2 algorithm over ``audit_path`` from
    ``SHA-256(0x00 || event_hash)`` gives the checkpoint's ``root_hash``; the signature verifies with
    ``public_key``.
    """

    event_id: str
    seq: int
    leaf_index: int
    event_hash: str
    prev_hash: str
    audit_path: list[str]
    checkpoint: CheckpointRead
    public_key: PublicKeyRead


class ConsistencyProofRead(BaseModel):
    """That the checkpoint ``second`` extends ``first`` unchanged: its first ``first.tree_size`` events
    are the ones ``first`` sealed (RFC 9162 section 2.1.4).

    Verify, holding ``first`` (or at least its size and root) from before: ``first`` is the one you hold;
    the RFC 9162 section 2.1.4.2 algorithm over ``proof`` from ``first.root_hash`` gives
    ``second.root_hash``; both signatures verify with the public key you trust (``public_key`` is the
    gateway's current one). ``audit.checkpoint.verify_extension`` does all of it.
    """

    first: CheckpointRead
    second: CheckpointRead
    proof: list[str]
    public_key: PublicKeyRead
