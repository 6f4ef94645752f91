"""Bearer tokens: JWT access tokens (RFC 9068 profile) signed by the gateway's own key.

The signing key is an ES256 key in the key folder (0600). Verification accepts ES256 only, checks
issuer, audience, type, expiry and not-before against the gateway's clock, and caches a verified
token's claims until it expires: a signature check costs ~0.15 ms, a cache hit microseconds. The
cache holds no grants, only who the token is for: whether that staff member may see a client is
decided afresh on every request (ASVS 8.3.2).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from gateway.vault import write_secret, ensure_private_folder

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"


class InvalidToken(Exception):
    """The bearer token is not one this gateway accepts; ``reason`` is a code for the audit trail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    scopes: frozenset[str]
    client_id: str
    expires_at: int
    token_id: str


def load_or_create_signing_key(folder: Path) -> ECKey:
    path = folder / "token-signing.jwk"
    if not path.exists():
        ensure_private_folder(folder)
        key = ECKey.generate_key("P-256", parameters={"kid": f"sig-{secrets.token_hex(4)}", "use": "sig",
                                                      "alg": ALGORITHM}, private=True)
        write_secret(path, json.dumps(key.as_dict(private=True)).encode())
    return ECKey.import_key(json.loads(path.read_bytes()))


class TokenService:
    def __init__(self, signing_key: ECKey, *, issuer: str, audience: str, cache_size: int = 10_000) -> None:
        self._key = signing_key
        self._keys = KeySet([signing_key])
        self._issuer = issuer
        self._audience = audience
        self._cache: OrderedDict[str, TokenClaims] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def mint(self, *, subject: str, scopes: frozenset[str], client_id: str, now: dt.datetime,
             ttl_seconds: int, token_id: str | None = None) -> str:
        issued = int(now.timestamp())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "client_id": client_id,
            "scope": " ".join(sorted(scopes)),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_seconds,
            "jti": token_id or secrets.token_urlsafe(16),
        }
        header = {"alg": ALGORITHM, "kid": self._key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(header, claims, self._key, algorithms=[ALGORITHM])

    def verify(self, token: str, now: dt.datetime) -> TokenClaims:
        moment = int(now.timestamp())
        with self._lock:
            claims = self._cache.get(token)
            if claims is not None:
                self._cache.move_to_end(token)
        if claims is None:
            claims = self._verify_signature(token, moment)
        if moment >= claims.expires_at:
            raise InvalidToken("token_expired")
        return claims

    def _verify_signature(self, token: str, moment: int) -> TokenClaims:
        if len(token) > 4096:
            raise InvalidToken("token_malformed")
        try:
            decoded = jwt.decode(token, self._keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError):
            raise InvalidToken("token_signature_invalid") from None
        header, body = decoded.header, decoded.claims
        if header.get("typ") != TOKEN_TYPE:
            raise InvalidToken("token_type_invalid")
        if body.get("iss") != self._issuer:
            raise InvalidToken("token_issuer_invalid")
        audience = body.get("aud")
        if audience != self._audience and not (isinstance(audience, list) and self._audience in audience):
            raise InvalidToken("token_audience_invalid")
        for claim in ("exp", "nbf", "iat"):
            if not isinstance(body.get(claim), int):
                raise InvalidToken("token_claims_invalid")
        if moment < body["nbf"]:
            raise InvalidToken("token_not_yet_valid")
        subject, scope, client_id, jti = body.get("sub"), body.get("scope", ""), body.get("client_id"), body.get("jti")
        if not all(isinstance(value, str) and value for value in (subject, client_id, jti)) or not isinstance(scope, str):
            raise InvalidToken("token_claims_invalid")
        claims = TokenClaims(subject=subject, scopes=frozenset(scope.split()), client_id=client_id,
                             expires_at=body["exp"], token_id=jti)
        if moment < claims.expires_at:
            with self._lock:
                self._cache[token] = claims
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return claims
