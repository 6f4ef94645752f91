"""The covenant version as the parties sign it (art. 16): its canonical form, digest and approval message.

Pure functions, no database. The canonical form of a version is its resolved document (after
``extends``) as RFC 8785 JSON (the JSON Canonicalization Scheme, via the ``rfc8785`` library): the
same document gives the same bytes on every machine, whatever the TOML's order or layout. TOML dates
and times have no JSON form; they become ISO 8601 strings first.

A party approves a version with an Ed25519 signature (``cryptography``) over the approval message,
which is itself RFC 8785 JSON naming a fixed domain, the covenant's id, the version and the SHA-256
digest of the canonical document. The domain keeps a covenant approval from ever passing for any
other signature made with the same key; the id, version and digest keep a signature over one version
from ever counting for another (or for another covenant, or another text under the same version).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import Any, Mapping

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

APPROVAL_DOMAIN = "covenant-gateway:covenant-version-approval:v1"
KEY_ID_PREFIX = "ed25519:"


class SigningError(ValueError):
    """A key or signature that cannot be used; the message says why (no key material in it)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat()
    return value


def canonical_document(document: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical JSON of a resolved covenant document."""
    return rfc8785.dumps(_jsonable(document))


def document_digest(canonical: bytes) -> str:
    """The SHA-256 of the canonical document, in hex."""
    return hashlib.sha256(canonical).hexdigest()


def approval_message(covenant_id: str, version: str, digest: str) -> bytes:
    """What a party signs to approve ``version`` of covenant ``covenant_id`` with document ``digest``."""
    return rfc8785.dumps({"domain": APPROVAL_DOMAIN, "covenant": covenant_id, "version": version,
                          "digest": digest})


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """The key id: ``ed25519:`` and the SHA-256 of the raw 32-byte public key, hex (its first 32 digits)."""
    return KEY_ID_PREFIX + hashlib.sha256(public_key_bytes(key)).hexdigest()[:32]


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) or the base64 of its 32 raw bytes."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise SigningError("not an Ed25519 public key (PEM or base64 of 32 bytes)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError("not an Ed25519 public key")
    return key


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key in PEM (PKCS #8)."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SigningError("not an unencrypted Ed25519 private key in PEM") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError("not an Ed25519 private key")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign_approval(key: Ed25519PrivateKey, covenant_id: str, version: str, digest: str) -> str:
    """The base64 signature of the approval message."""
    return base64.b64encode(key.sign(approval_message(covenant_id, version, digest))).decode()


def verify_approval(key: Ed25519PublicKey, signature: str, covenant_id: str, version: str, digest: str) -> bool:
    """Whether ``signature`` (base64) is ``key``'s signature of the approval of this version."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return False
    if len(raw) != 64:
        return False
    try:
        key.verify(raw, approval_message(covenant_id, version, digest))
    except InvalidSignature:
        return False
    return True


__all__ = ["APPROVAL_DOMAIN", "SigningError", "approval_message", "canonical_document", "document_digest",
           "fingerprint", "load_private_key", "load_public_key", "private_key_pem", "public_key_bytes",
           "public_key_pem", "sign_approval", "verify_approval"]
