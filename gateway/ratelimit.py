"""Rate limits per key, so that one compromised partner system cannot scrape the gateway.

Counting is done by the maintained ``limits`` library. The v1 API counts per partner system (the
token's ``client_id``), right after the token is verified and before anything is read from the
database (see :mod:`gateway.deps`); other entry points (the OAuth token endpoint) call the same
object with keys of their own::

    runtime.rate_limiter.check(f"token:{client_id}", rate="30/minute")  # None, or raises TooManyRequests

Where the counts live is a setting: ``memory://`` counts per gateway instance (the default, and right
for one instance); ``redis://host:6379`` lets several instances share their counts (``pip install
'limits[redis]'``). Should the shared storage fail, each instance falls back to counting on its own,
so a partner is still limited (by at most the number of instances times the rate) and nobody is
refused because a counter is unreachable.

Counting uses the wall clock, as the storage (which may be shared) does, not the gateway's ``Clock``.
A key is an identifier, never personal data: hash an address before using it as a key.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from typing import Literal

import anyio
import structlog
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from gateway.errors import GatewayError

log = structlog.get_logger(__name__)

Strategy = Literal["moving-window", "sliding-window"]
_STRATEGIES = {"moving-window": MovingWindowRateLimiter, "sliding-window": SlidingWindowCounterRateLimiter}
_WARN_EVERY_SECONDS = 60.0


class TooManyRequests(GatewayError):
    """429, with the number of seconds after which the key has room again (``Retry-After``)."""

    status_code = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests from this partner system; try again after the number of seconds "
                         "in Retry-After", extra={"retry_after": retry_after},
                         headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def parse_rate(rate: str) -> list[RateLimitItem]:
    """``"600/minute"``, or several: ``"20/second;600/minute"``. Raises ``ValueError`` if malformed."""
    items = parse_many(rate)
    if not items:
        raise ValueError(f"not a rate: {rate!r}")
    return items


class RateLimiter:
    """A rate (or several) per key, counted in ``storage`` (a ``limits`` storage URI)."""

    def __init__(self, rate: str, *, storage: str = "memory://", strategy: Strategy = "moving-window",
                 namespace: str = "") -> None:
        self._default = parse_rate(rate)
        self._namespace = namespace  # one region's counts apart from another's in a shared storage
        self._strategy = _STRATEGIES[strategy]
        self._storage: Storage = storage_from_string(storage, wrap_exceptions=True)
        self._limiter = self._strategy(self._storage)
        self._local = type(self._storage) is MemoryStorage  # no I/O: counted on the event loop
        self._fallback = self._strategy(MemoryStorage())
        self._rates: dict[str, list[RateLimitItem]] = {}
        self._lock = threading.Lock()
        self._warned_at = -math.inf

    def _items(self, rate: str | None) -> list[RateLimitItem]:
        if rate is None:
            return self._default
        items = self._rates.get(rate)
        if items is None:
            items = parse_rate(rate)
            with self._lock:
                self._rates[rate] = items
        return items

    def check(self, key: str, *, rate: str | None = None) -> None:
        """Count one request for ``key``; raises :class:`TooManyRequests` when it is over ``rate``
        (default: the gateway's ``GATEWAY_RATE_LIMIT``). Blocks on a remote storage: from the event
        loop, await :meth:`check_async` instead."""
        key = self._namespace + key
        for item in self._items(rate):
            limiter = self._limiter
            try:
                allowed = limiter.hit(item, key)
            except StorageError as exc:
                self._storage_failed(exc)
                limiter = self._fallback
                allowed = limiter.hit(item, key)
            if not allowed:
                raise TooManyRequests(self._retry_after(limiter, item, key))

    async def check_async(self, key: str, *, rate: str | None = None) -> None:
        """:meth:`check` for the event loop: in memory at once, on a worker thread for a remote storage."""
        if self._local:
            self.check(key, rate=rate)
        else:
            await anyio.to_thread.run_sync(functools.partial(self.check, key, rate=rate))

    def reset(self) -> None:
        """Forget every count (an operator's lever, and the tests')."""
        self._storage.reset()

    def _retry_after(self, limiter, item: RateLimitItem, key: str) -> int:
        try:
            reset_at = limiter.get_window_stats(item, key).reset_time
        except StorageError:
            return item.get_expiry()
        return max(1, math.ceil(reset_at - time.time()))

    def _storage_failed(self, exc: StorageError) -> None:
        moment = time.monotonic()
        if moment - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = moment
            log.warning("rate_limit_storage_unavailable", error=type(exc.storage_error).__name__,
                        fallback="per_instance")
