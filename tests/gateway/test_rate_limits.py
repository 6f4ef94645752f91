"""Per-partner-system rate limits: 429 with Retry-After, on record, before any database read.

No test sleeps: each sets a tiny limit (a few requests an hour) and asserts the refusal.
"""

from __future__ import annotations

import pytest
from limits.storage import MemoryStorage
from pydantic import ValidationError

from audit import AuditAction, Outcome
from gateway.config import Settings
from gateway.ratelimit import RateLimiter, TooManyRequests
from tests.gateway.helpers import PUBLIC, auth, events, partner_token, token

PROBLEM = "application/problem+json"


# --- the limiter itself, also for the OAuth token endpoint ---------------------------------------------

def test_a_key_over_its_rate_is_refused_with_the_seconds_to_wait():
    limiter = RateLimiter("2/hour")
    limiter.check("client:a")
    limiter.check("client:a")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("client:a")
    assert 3590 <= refused.value.retry_after <= 3600
    assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
    limiter.check("client:b")  # another key counts on its own


def test_a_caller_may_count_a_key_at_a_rate_of_its_own():
    limiter = RateLimiter("1000/hour")
    limiter.check("token:a", rate="1/minute")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("token:a", rate="1/minute")
    assert 1 <= refused.value.retry_after <= 60
    limiter.check("token:a")  # the default rate is a count of its own


def test_several_rates_each_apply():
    limiter = RateLimiter("3/second;5/hour", strategy="sliding-window")
    for _ in range(3):
        limiter.check("k")
    with pytest.raises(TooManyRequests):
        limiter.check("k")


def test_reset_forgets_the_counts():
    limiter = RateLimiter("1/hour")
    limiter.check("k")
    limiter.reset()
    limiter.check("k")


class _Unreachable(MemoryStorage):
    """A shared storage that is down (as a Redis server can be)."""

    STORAGE_SCHEME = ["unreachable-test"]

    def acquire_entry(self, *args, **kwargs):
        raise ValueError("connection refused")


def test_when_the_shared_storage_fails_each_instance_counts_on_its_own():
    limiter = RateLimiter("2/hour", storage="unreachable-test://")
    limiter.check("k")
    limiter.check("k")
    with pytest.raises(TooManyRequests):
        limiter.check("k")


def test_a_remote_storage_is_counted_off_the_event_loop():
    import anyio

    limiter = RateLimiter("1/hour", storage="unreachable-test://")

    async def twice():
        await limiter.check_async("k")
        await limiter.check_async("k")

    with pytest.raises(TooManyRequests):
        anyio.run(twice)


@pytest.mark.parametrize("rate", ["lots", "", "600 a minute"])
def test_a_rate_that_is_no_rate_is_refused_at_start(rate):
    with pytest.raises(ValidationError, match="GATEWAY_RATE_LIMIT"):
        Settings(_env_file=None, rate_limit=rate)


# --- over HTTP -----------------------------------------------------------------------------------------

def test_a_partner_system_over_its_rate_gets_429_and_the_refusal_is_on_record(runtime, demo, http):
    runtime.rate_limiter = RateLimiter("2/hour")
    url = f"/v1/clients/{demo.clients[0]}/entries"
    manager = partner_token(runtime, demo.staff["client_manager"], "shelter-system")
    for _ in range(2):
        assert http.get(url, headers=auth(manager)).status_code == 200
    refused = http.get(url, headers=auth(manager))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert 3590 <= int(refused.headers["retry-after"]) <= 3600
    problem = refused.json()
    assert problem["type"] == "tag:covenant-gateway,2026:problems/too-many-requests"
    assert problem["retry_after"] == int(refused.headers["retry-after"])
    [event] = events(runtime, request_id=refused.headers["x-request-id"])
    assert (event.action, event.outcome, event.reason) == (AuditAction.REQUEST_REJECTED, Outcome.DENY, "rate_limited")
    assert (event.actor_id, event.source_system) == (demo.staff["client_manager"], "shelter-system")
    # Refused before the gateway read anything: the staff member was never looked up, no client named.
    assert (event.actor_party, event.client_pseudonym) == (None, None)

    # The count is per partner system (the token's client_id), whoever's token it is.
    other_member = partner_token(runtime, demo.staff["privacy_officer"], "shelter-system")
    assert http.get("/v1/audit/events", headers=auth(other_member, "oversight")).status_code == 429
    other_system = partner_token(runtime, demo.staff["client_manager"], "police-system")
    assert http.get(url, headers=auth(other_system)).status_code == 200


def test_a_request_without_a_valid_token_is_refused_before_it_is_counted(runtime, demo, http):
    runtime.rate_limiter = RateLimiter("1/hour")
    url = f"/v1/clients/{demo.clients[0]}/entries"
    assert http.get(url, headers=auth("not.a.jwt")).status_code == 401
    assert http.get(url, headers=auth(token(runtime, demo.staff["client_manager"]))).status_code == 200


def test_every_v1_operation_documents_429(http):
    document = http.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        if path.startswith("/v1/"):
            for method, operation in operations.items():
                if (path, method) in PUBLIC:  # not rate limited, like the key set: no caller to count
                    continue
                response = operation["responses"]["429"]
                assert "Retry-After" in response["headers"], (path, method)
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"}
