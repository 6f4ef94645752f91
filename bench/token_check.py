"""What checking a bearer token costs, measured in-process with the gateway's own ``TokenService``.

The read-path benchmark calls :func:`measure` with a Runtime built on the same settings (key folder,
issuer, audience) as the gateway server it ran, and the tokens that server really issued. It times
``tokens.verify(token, now)``, each call on its own with ``time.perf_counter_ns``:

* **cold**, a token's first verification: the ES256 signature and the claims (type, issuer,
  audience, times, subject), then the claims go into the cache. Measured on the issued tokens (their
  first verification in this process), and on a few thousand fresh tokens minted with the same key
  and the same claims as the issued ones (subject, scope, client id, party, lifetime), each verified
  once;
* **warm**, every later verification of a token: a look-up in the cache of verified claims and the
  expiry test. Measured on the issued tokens, in turn, as wrk sends them.

``now`` is taken once beforehand, as a request takes ``tx.now`` once. The cost of the timer itself
(the same loop around a function that does nothing) is reported alongside, not subtracted.

Not in ``verify()``: whether the token was revoked and whether its partner system is still switched
on. Those are two subqueries folded into the request's facts query (``gateway/access.py``,
``_TOKEN_COLUMNS``), so their cost is inside the facts query's one round trip and is not measured here.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any, Callable, Sequence

from gateway.tokens import TokenClaims, TokenService

NOT_IN_VERIFY = ("verify() does not look at revocation or whether the partner system is still active: those are "
                 "two subqueries folded into the facts query (gateway/access.py _TOKEN_COLUMNS), so their "
                 "cost is inside the facts query, not in these figures")


def _timed(call: Callable[[str, dt.datetime], Any], tokens: Sequence[str], now: dt.datetime) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for token in tokens:
        started = clock()
        call(token, now)
        samples.append(clock() - started)
    return samples


def _nothing(token: str, now: dt.datetime) -> None:
    return None


def stats_us(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    last = len(ordered) - 1

    def at(q: float) -> float:
        return round(ordered[round(q * last)] / 1000, 2)

    return {"calls": len(ordered), "median_us": at(0.5), "p99_us": at(0.99), "min_us": round(ordered[0] / 1000, 2),
            "max_us": round(ordered[-1] / 1000, 2)}


def measure(tokens: TokenService, issued: Sequence[str], *, calls: int = 3_000, ttl_seconds: int = 3_600,
            now: dt.datetime | None = None) -> dict[str, Any]:
    """Cold and warm ``verify()`` on ``issued`` (tokens the gateway issued, not verified yet in this
    process) and on ``calls`` fresh tokens minted like them."""
    now = now or dt.datetime.now(dt.UTC)
    issued = list(dict.fromkeys(issued))

    # Cold, the issued tokens: their first verification here (the cache is this process's own).
    verified: list[TokenClaims] = []
    cold_issued = _timed(lambda token, moment: verified.append(tokens.verify(token, moment)), issued, now)

    # Cold, fresh tokens: minted with the gateway's signing key and the issued tokens' claims.
    fresh = []
    for n in range(calls):
        template = verified[n % len(verified)]
        fresh.append(tokens.mint(subject=template.subject, scopes=template.scopes, client_id=template.client_id,
                                 party=template.party, now=now, ttl_seconds=ttl_seconds, token_id=uuid.uuid4().hex))
    cold_fresh = _timed(tokens.verify, fresh, now)

    # Warm: the issued tokens again, round and round, as wrk cycles through them.
    warm = _timed(tokens.verify, [issued[n % len(issued)] for n in range(calls)], now)
    timer = _timed(_nothing, [issued[n % len(issued)] for n in range(calls)], now)

    return {
        "cold_issued": stats_us(cold_issued),
        "cold_fresh": stats_us(cold_fresh),
        "warm": stats_us(warm),
        "timer_overhead": stats_us(timer),
        "issued_tokens_verified": len(verified),
        "not_in_verify": NOT_IN_VERIFY,
    }


def shares(check: dict[str, Any], runs: list[dict]) -> list[dict]:
    """The warm (and, for comparison, cold) ``verify()`` median as a share of the protected request's
    server CPU per request and of its p50 latency, per concurrency."""
    warm, cold = check["warm"]["median_us"], check["cold_fresh"]["median_us"]
    rows = []
    for run in runs:
        if run["route"] != "protected":
            continue
        cpu_us, p50_us = run["server_cpu_ms_per_request"] * 1000, run["p50_ms"] * 1000
        rows.append({
            "connections": run["connections"],
            "server_cpu_us_per_request": round(cpu_us, 1),
            "p50_us": round(p50_us, 1),
            "warm_share_of_cpu_pct": round(100 * warm / cpu_us, 3) if cpu_us else None,
            "warm_share_of_p50_pct": round(100 * warm / p50_us, 3) if p50_us else None,
            "cold_share_of_cpu_pct": round(100 * cold / cpu_us, 2) if cpu_us else None,
            "cold_share_of_p50_pct": round(100 * cold / p50_us, 2) if p50_us else None,
        })
    return rows
