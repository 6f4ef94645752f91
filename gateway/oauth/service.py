"""The partner-system registry, and what the authorization server keeps: assertions used, tokens revoked.

Instrument 1 of the covenant: each party connects its own systems; a system belongs to exactly one
party and acts for that party's staff only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Connection, delete, insert, select, update

from covenant.scopes import SCOPES
from gateway.errors import Conflict, InvalidContent, NotFound
from gateway.oauth.models import PartnerSystem, RevokedToken, UsedAssertion
from gateway.tokens import LOCAL_CLIENT_ID
from gateway.transaction import Transaction

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_BASIC = "client_secret_basic"
AUTH_METHODS = (PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC)
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}
_SIGNING_KEY_TYPES = {"EC", "RSA", "OKP"}


@dataclass(frozen=True, slots=True)
class Registration:
    client_id: str
    party: str
    name: str
    auth_method: str
    scopes: list[str]
    secret: str | None = None  # shown once, never stored


def _invalid(field: str, problem: str) -> InvalidContent:
    return InvalidContent(f"the partner system's {field} is not acceptable",
                          extra={"errors": [{"field": field, "problem": problem}]})


def public_key_set(document: Any) -> dict:
    """A partner's key set, checked: a JWKS of public signing keys, each with a ``kid``."""
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError:
            raise _invalid("jwks", "not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) or not document["keys"]:
        raise _invalid("jwks", "must be a JSON Web Key Set with at least one key")
    for key in document["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in _SIGNING_KEY_TYPES:
            raise _invalid("jwks", "every key must be an EC, RSA or OKP key")
        if _PRIVATE_MEMBERS & key.keys():
            raise _invalid("jwks", "holds private key material: register the public keys only")
        if not isinstance(key.get("kid"), str) or not key["kid"]:
            raise _invalid("jwks", "every key needs a kid")
    try:
        KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError):
        raise _invalid("jwks", "not a valid key set") from None
    return {"keys": document["keys"]}


def secret_digest(secret: str) -> bytes:
    """The stored form of a generated client secret (32 random bytes: a plain hash suffices)."""
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(secret: str, digest: bytes | None) -> bool:
    return digest is not None and hmac.compare_digest(secret_digest(secret), digest)


def register_partner(tx: Transaction, *, party: str, name: str, jwks: Any = None, client_id: str | None = None,
                     scopes: list[str] | None = None) -> Registration:
    """Register a party's system. With ``jwks`` it authenticates with ``private_key_jwt`` and may act
    for its staff; without, it gets a generated secret (``client_secret_basic``) and acts only for
    itself."""
    if party not in tx.covenant.parties:
        raise _invalid("party", "not a party of the covenant in force")
    if not name.strip() or len(name) > 200:
        raise _invalid("name", "1 to 200 characters")
    client_id = client_id or f"{party[:40]}-{secrets.token_hex(6)}"
    if not CLIENT_ID.match(client_id):
        raise _invalid("client_id", "3 to 64 letters, digits, '.', '_' or '-'")
    if client_id == LOCAL_CLIENT_ID:
        raise _invalid("client_id", "reserved for tokens minted on the gateway's own machine")
    scopes = sorted(set(scopes)) if scopes is not None else sorted(SCOPES)
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise _invalid("scopes", f"choose from: {', '.join(sorted(SCOPES))}")
    key_set = public_key_set(jwks) if jwks is not None else None
    secret = None if key_set is not None else secrets.token_urlsafe(32)
    if tx.connection.execute(select(PartnerSystem.client_id).where(PartnerSystem.client_id == client_id)).first():
        raise Conflict("a partner system with this client id is already registered")
    values = {"client_id": client_id, "party_id": party, "name": name.strip(),
              "auth_method": PRIVATE_KEY_JWT if key_set is not None else CLIENT_SECRET_BASIC,
              "jwks": key_set, "secret_hash": secret_digest(secret) if secret else None, "scopes": scopes,
              "active": True, "created_at": tx.now, "deactivated_at": None}
    tx.write(lambda conn: conn.execute(insert(PartnerSystem).values(**values)))
    return Registration(client_id=client_id, party=party, name=values["name"], auth_method=values["auth_method"],
                        scopes=scopes, secret=secret)


def deactivate_partner(tx: Transaction, *, client_id: str) -> None:
    """Switch a system off: from now its tokens, those for its staff included, are refused."""
    system = tx.session.get(PartnerSystem, client_id)
    if system is None:
        raise NotFound("no partner system with this client id")
    if not system.active:
        raise Conflict("this partner system is already switched off")
    now = tx.now
    tx.write(lambda conn: conn.execute(update(PartnerSystem).where(PartnerSystem.client_id == client_id)
                                       .values(active=False, deactivated_at=now)))


def list_partners(tx: Transaction) -> list[PartnerSystem]:
    return list(tx.session.scalars(select(PartnerSystem).order_by(PartnerSystem.party_id, PartnerSystem.client_id)))


def get_partner(conn: Connection, client_id: str) -> PartnerSystem | None:
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        return None
    row = conn.execute(select(PartnerSystem.__table__).where(PartnerSystem.client_id == client_id)).first()
    return PartnerSystem(**row._mapping) if row is not None else None


def assertion_used(conn: Connection, client_id: str, jti: str) -> bool:
    return conn.execute(select(UsedAssertion.jti).where(UsedAssertion.client_id == client_id,
                                                        UsedAssertion.jti == jti)).first() is not None


def queue_assertion_use(tx: Transaction, client_id: str, jti: str, expires_at: dt.datetime) -> None:
    """Remember an assertion id until it would have expired anyway; a second use at the same moment
    loses on the primary key inside the committing transaction. Ids past their expiry are
    forgotten on the way."""
    now = tx.now

    def remember(conn: Connection) -> None:
        conn.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
        conn.execute(insert(UsedAssertion).values(client_id=client_id, jti=jti, expires_at=expires_at))

    tx.write(remember)


def queue_revocation(tx: Transaction, *, token_id: str, client_id: str, expires_at: dt.datetime) -> None:
    now = tx.now

    def revoke(conn: Connection) -> None:
        conn.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
        if conn.execute(select(RevokedToken.jti).where(RevokedToken.jti == token_id)).first() is None:
            conn.execute(insert(RevokedToken).values(jti=token_id, client_id=client_id, revoked_at=now,
                                                     expires_at=expires_at))

    tx.write(revoke)


def token_revoked(conn: Connection, token_id: str) -> bool:
    return conn.execute(select(RevokedToken.jti).where(RevokedToken.jti == token_id)).first() is not None
