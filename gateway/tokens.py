"""Access tokens: JWTs in the RFC 9068 profile, signed by the gateway's rotating key set.

The signing keys are ES256 keys in the key folder (``token-signing.json``, mode 0600), each with the
moment it was made and, once rotated out, the moment it was retired. New tokens are signed with the
newest key; a retired key still verifies for ``overlap`` (the longest a token lives), so that tokens
signed just before a rotation stay valid to their end, and is then forgotten: a token signed with it
afterwards (by someone who kept a copy of the key) is refused. Several gateway instances share the
key folder; each notices a rotation by the file's modification time.

Verification accepts ES256 only, checks type, issuer, audience, expiry and not-before against the
gateway's clock, and caches a verified token's claims until it expires: a signature check costs
~0.15 ms, a cache hit microseconds. The cache holds no grants, only who the token is for: whether
that staff member may see a client is decided afresh on every request (ASVS 8.3.2), and whether
the token was revoked or its partner system switched off is read with the request's facts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from gateway.vault import _replace_secret, ensure_private_folder

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"
MAX_TOKEN_TTL = 86_400  # a day: no token of this gateway lives longer, so a retired key verifies this long
SIGNING_FILE = "token-signing.json"
_LEGACY_FILE = "token-signing.jwk"  # one key, before rotation existed
LOCAL_CLIENT_ID = "gateway-cli"  # tokens minted on the gateway's own machine by `gateway token`


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
    party: str | None
    expires_at: int
    token_id: str

    @property
    def for_system(self) -> bool:
        """A token of a partner system acting on its own (RFC 9068 §2.2: ``sub`` is the client)."""
        return self.subject == self.client_id


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: ECKey
    created_at: dt.datetime
    retired_at: dt.datetime | None = None

    @property
    def kid(self) -> str:
        return self.key.kid

    def verifies_at(self, now: dt.datetime, overlap: dt.timedelta) -> bool:
        return self.retired_at is None or now < self.retired_at + overlap

    def as_record(self) -> dict:
        return {"jwk": self.key.as_dict(private=True), "created_at": self.created_at.isoformat(),
                "retired_at": self.retired_at.isoformat() if self.retired_at else None}

    @classmethod
    def from_record(cls, record: dict) -> "SigningKey":
        retired = record.get("retired_at")
        return cls(key=ECKey.import_key(record["jwk"]), created_at=dt.datetime.fromisoformat(record["created_at"]),
                   retired_at=dt.datetime.fromisoformat(retired) if retired else None)


def _new_key(now: dt.datetime) -> SigningKey:
    key = ECKey.generate_key("P-256", parameters={"kid": f"sig-{secrets.token_hex(6)}", "use": "sig",
                                                  "alg": ALGORITHM}, private=True)
    return SigningKey(key=key, created_at=now)


class SigningKeyRing:
    """The signing keys in the key folder: the newest signs, the recently retired still verify."""

    def __init__(self, folder: Path, *, overlap: dt.timedelta = dt.timedelta(seconds=MAX_TOKEN_TTL)) -> None:
        self.folder = folder
        self.path = folder / SIGNING_FILE
        self.overlap = overlap
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._keys: list[SigningKey] = []

    def ensure(self, now: dt.datetime) -> None:
        """Create the first signing key on a fresh installation (or adopt the one-key file of before)."""
        ensure_private_folder(self.folder)
        if self.path.exists():
            return
        legacy = self.folder / _LEGACY_FILE
        first = (SigningKey(key=ECKey.import_key(json.loads(legacy.read_bytes())), created_at=now)
                 if legacy.exists() else _new_key(now))
        self._write([first])
        if legacy.exists():
            legacy.unlink()

    def _write(self, keys: list[SigningKey]) -> None:
        _replace_secret(self.path, json.dumps({"keys": [key.as_record() for key in keys]}).encode())
        self._stamp = None

    def keys(self) -> list[SigningKey]:
        """The keys as stored now, newest first; re-read when another instance has rotated them."""
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            raise InvalidToken("token_keys_missing") from None
        with self._lock:
            if stamp != self._stamp:
                records = json.loads(self.path.read_bytes())["keys"]
                self._keys = sorted((SigningKey.from_record(record) for record in records),
                                    key=lambda key: key.created_at, reverse=True)
                self._stamp = stamp
            return self._keys

    def active(self) -> SigningKey:
        return self.keys()[0]

    def verifying(self, now: dt.datetime) -> list[SigningKey]:
        return [key for key in self.keys() if key.verifies_at(now, self.overlap)]

    def rotate(self, now: dt.datetime) -> tuple[SigningKey, list[str]]:
        """A new signing key; the old one retires now and verifies for ``overlap`` more. Keys past
        their overlap are destroyed. Returns the new key and the ids of the destroyed ones."""
        new = _new_key(now)
        kept, destroyed = [new], []
        for key in self.keys():
            retired = key if key.retired_at is not None else SigningKey(key.key, key.created_at, now)
            if retired.verifies_at(now, self.overlap):
                kept.append(retired)
            else:
                destroyed.append(key.kid)
        self._write(kept)
        return new, destroyed

    def public_jwks(self, now: dt.datetime) -> dict:
        """The keys that verify now, public parts only (``/.well-known/jwks.json``)."""
        return {"keys": [key.key.as_dict(private=False) for key in self.verifying(now)]}


class TokenService:
    def __init__(self, ring: SigningKeyRing, *, issuer: str, audience: str, cache_size: int = 10_000) -> None:
        self.ring = ring
        self._issuer = issuer
        self._audience = audience
        self._cache: OrderedDict[str, TokenClaims] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return self._issuer

    def mint(self, *, subject: str, scopes: frozenset[str], client_id: str, now: dt.datetime,
             ttl_seconds: int, party: str | None = None, token_id: str | None = None) -> str:
        if not 0 < ttl_seconds <= MAX_TOKEN_TTL:
            raise ValueError("a token lives at most a day")
        signing = self.ring.active()
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
        if party is not None:
            claims["party"] = party
        header = {"alg": ALGORITHM, "kid": signing.kid, "typ": TOKEN_TYPE}
        return jwt.encode(header, claims, signing.key, algorithms=[ALGORITHM])

    def verify(self, token: str, now: dt.datetime) -> TokenClaims:
        moment = int(now.timestamp())
        with self._lock:
            claims = self._cache.get(token)
            if claims is not None:
                self._cache.move_to_end(token)
        if claims is None:
            claims = self._verify_signature(token, now)
        if moment >= claims.expires_at:
            raise InvalidToken("token_expired")
        return claims

    def _verify_signature(self, token: str, now: dt.datetime) -> TokenClaims:
        moment = int(now.timestamp())
        if len(token) > 4096:
            raise InvalidToken("token_malformed")
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError):
            raise InvalidToken("token_malformed") from None
        signer = next((key for key in self.ring.verifying(now) if key.kid == kid), None)
        if signer is None:  # never ours, or retired longer than its overlap
            raise InvalidToken("token_key_unknown")
        try:
            decoded = jwt.decode(token, signer.key, algorithms=[ALGORITHM])
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
        if body["exp"] - body["iat"] > MAX_TOKEN_TTL:
            raise InvalidToken("token_claims_invalid")
        subject, scope, client_id, jti = body.get("sub"), body.get("scope", ""), body.get("client_id"), body.get("jti")
        party = body.get("party")
        if not all(isinstance(value, str) and value for value in (subject, client_id, jti)) or not isinstance(scope, str):
            raise InvalidToken("token_claims_invalid")
        if party is not None and not isinstance(party, str):
            raise InvalidToken("token_claims_invalid")
        claims = TokenClaims(subject=subject, scopes=frozenset(scope.split()), client_id=client_id, party=party,
                             expires_at=body["exp"], token_id=jti)
        if signer.retired_at is not None:  # a retired key verifies only for its overlap, cached or not
            claims = replace(claims, expires_at=min(claims.expires_at,
                                                    int((signer.retired_at + self.ring.overlap).timestamp())))
        if moment < claims.expires_at:
            with self._lock:
                self._cache[token] = claims
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return claims
