"""The key sets of parties' own identity providers, fetched from their JWKS URLs and cached.

A party that runs its own identity provider may let it sign the assertions that name its staff
(configured per party: ``GATEWAY_TRUSTED_IDPS``). The gateway fetches the provider's public keys,
keeps them for five minutes, and fetches again at once when an assertion names a key it does not
know (a provider that has just rotated), at most every ten seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

MAX_AGE = 300.0
MIN_REFETCH = 10.0
MAX_BYTES = 100_000


class KeysUnavailable(Exception):
    """The provider's key set could not be fetched or read."""


@dataclass
class _Cached:
    keys: KeySet
    fetched: float


class IdentityProviderKeys:
    def __init__(self, *, timeout: float = 5.0) -> None:
        self._timeout = timeout
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def get(self, jwks_url: str, *, kid: str | None = None) -> KeySet:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(jwks_url)
        if cached is not None:
            known = kid is None or any(key.kid == kid for key in cached.keys)
            fresh = now - cached.fetched < MAX_AGE
            if fresh and (known or now - cached.fetched < MIN_REFETCH):
                return cached.keys
        keys = self._fetch(jwks_url)
        with self._lock:
            self._cache[jwks_url] = _Cached(keys, now)
        return keys

    def _fetch(self, jwks_url: str) -> KeySet:
        try:
            response = httpx.get(jwks_url, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            if len(response.content) > MAX_BYTES:
                raise KeysUnavailable("the key set is too large")
            document = response.json()
            if not isinstance(document, dict) or any("d" in key for key in document.get("keys", [])):
                raise KeysUnavailable("not a public key set")
            return KeySet.import_key_set(document)
        except (httpx.HTTPError, ValueError, JoseError, TypeError) as exc:
            raise KeysUnavailable(type(exc).__name__) from None
