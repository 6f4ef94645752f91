"""The trail's sealing key, and sealing as the gateway does it (the CLI, the job in ``auditlog.jobs``).

The key is an Ed25519 private key in the key folder (``audit-seal.key``, PKCS#8 PEM, mode 0600),
created at set-up like the other keys and never written to a database: whoever holds the database
alone cannot sign a checkpoint over a rewritten trail. Its public half is published with every
checkpoint, for witnesses.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat,
                                                          load_pem_private_key)

from audit import seal as audit_seal
from audit.checkpoint import Checkpoint, key_id
from gateway.vault import VaultError, ensure_private_folder, write_secret

log = structlog.get_logger(__name__)

SEAL_KEY_FILE = "audit-seal.key"


class SealKey:
    """The gateway's checkpoint-signing key, in ``<keys>/audit-seal.key``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / SEAL_KEY_FILE
        self._key: Ed25519PrivateKey | None = None

    def ensure(self) -> None:
        """Create the key on a fresh installation."""
        ensure_private_folder(self.path.parent)
        if not self.path.exists():
            key = Ed25519PrivateKey.generate()
            write_secret(self.path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))

    @property
    def private_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            try:
                key = load_pem_private_key(self.path.read_bytes(), password=None)
            except FileNotFoundError:
                raise VaultError(f"no audit sealing key in {self.path.parent}; run the set-up (gateway demo) "
                                 "or start-up first") from None
            if not isinstance(key, Ed25519PrivateKey):
                raise VaultError("the audit sealing key is not an Ed25519 key")
            self._key = key
        return self._key

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def keys(self) -> dict[str, Ed25519PublicKey]:
        """The keys stored checkpoints are verified with, by key id."""
        return {key_id(self.public_key): self.public_key}


def seal_trail(runtime, *, now: dt.datetime | None = None) -> Checkpoint | None:
    """Seal what was appended since the last checkpoint (``None`` when nothing was)."""
    checkpoint = audit_seal.seal(runtime.engine, runtime.writer_engine, runtime.seal_key.private_key,
                                 now=now or runtime.clock())
    if checkpoint is not None:
        log.info("audit_sealed", tree_size=checkpoint.tree_size, key_id=checkpoint.key_id)
    return checkpoint
