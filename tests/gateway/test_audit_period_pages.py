"""Pages of a review with a period: ordered by (occurred_at, seq), newest first, and complete across
page boundaries and the period's edges, also when the moments do not rise with the positions (clocks
of several instances, a request that commits late)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit import AuditAction, EventDraft, Outcome, UnitOfWork
from gateway.auditlog import service as auditlog_service
from tests.gateway.helpers import act, auth, events, token

FROM = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
ACCESS_POINT = "test:period"
# The moments of the events appended, in the order they are appended (their positions rise).
MOMENTS = [
    FROM - SECOND,                            # just before the period: out
    FROM,                                     # the period's first moment: in (inclusive)
    FROM + SECOND,
    FROM + 10 * SECOND,
    FROM + 10 * SECOND,                       # the same moment twice: the position breaks the tie
    FROM + 10 * SECOND,
    UNTIL + SECOND,                           # after the period, appended in the middle of it: out
    FROM + 5 * SECOND,                        # a moment earlier than the one before it: in
    UNTIL - dt.timedelta(microseconds=1),     # the period's last moment: in
    UNTIL,                                    # the period's end: out (exclusive)
    FROM + 2 * SECOND,                        # committed late, after the period's end was: in
    FROM - dt.timedelta(microseconds=1),      # committed late, before the period: out
]


def append(runtime, moments, party="opvang-de-haven") -> None:
    runtime.committer.commit(UnitOfWork(events=[
        EventDraft(action=AuditAction.RECORD_READ, outcome=Outcome.PERMIT, reason="permitted", occurred_at=moment,
                   actor_id=f"period-test-{index}", actor_party=party, access_point=ACCESS_POINT)
        for index, moment in enumerate(moments)]))


def expected(runtime):
    inside = [e for e in events(runtime, access_point=ACCESS_POINT) if FROM <= e.occurred_at < UNTIL]
    return [e.seq for e in sorted(inside, key=lambda e: (e.occurred_at, e.seq), reverse=True)]


def pages(runtime, staff_id, limit, **filters):
    """Every page of the review, following ``next_before`` as the API's Link header does."""
    seen, before, count = [], None, 0
    while True:
        page = act(runtime, staff_id, lambda tx: auditlog_service.review_events(
            tx, purpose="oversight", occurred_from=FROM, occurred_until=UNTIL, before=before, limit=limit,
            **filters))
        seen.append([e.seq for e in page.items])
        count += 1
        assert count < 20, "the pages do not end"
        if page.next_before is None:
            return seen
        before = page.next_before


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_the_pages_of_a_period_hold_each_event_once_newest_first(runtime, demo, limit):
    append(runtime, MOMENTS)
    want = expected(runtime)
    assert len(want) == 8
    got = pages(runtime, demo.staff["privacy_officer"], limit)
    assert [seq for page in got for seq in page] == want
    assert all(len(page) == limit for page in got[:-1])


def test_a_period_and_another_filter_page_together(runtime, demo):
    append(runtime, MOMENTS)
    append(runtime, [FROM + 3 * SECOND, FROM + 4 * SECOND], party="politie-eenheid-demo")
    shelter = {e.seq for e in events(runtime, access_point=ACCESS_POINT, actor_party="opvang-de-haven")}
    want = [seq for seq in expected(runtime) if seq in shelter]
    assert len(want) == 8
    got = pages(runtime, demo.staff["privacy_officer"], 2, party="opvang-de-haven")
    assert [seq for page in got for seq in page] == want


def test_a_cursor_beyond_the_trail_starts_at_the_newest(runtime, demo):
    append(runtime, MOMENTS)
    page = act(runtime, demo.staff["privacy_officer"], lambda tx: auditlog_service.review_events(
        tx, purpose="oversight", occurred_from=FROM, occurred_until=UNTIL, before=10**9, limit=100))
    assert [e.seq for e in page.items] == expected(runtime)


def test_without_a_period_the_pages_stay_in_trail_order(runtime, demo):
    append(runtime, MOMENTS)
    page = act(runtime, demo.staff["privacy_officer"], lambda tx: auditlog_service.review_events(
        tx, purpose="oversight", party="opvang-de-haven", limit=5))
    seqs = [e.seq for e in page.items]
    assert seqs == sorted(seqs, reverse=True) and page.next_before == seqs[-1]


def test_the_api_links_the_pages_of_a_period(runtime, demo, http):
    append(runtime, MOMENTS)
    want = expected(runtime)
    bearer = token(runtime, demo.staff["privacy_officer"])
    url, params, got = "/v1/audit/events", {"occurred_from": FROM.isoformat(), "occurred_until": UNTIL.isoformat(),
                                            "limit": 3}, []
    while url:
        response = http.get(url, params=params, headers=auth(bearer, "oversight"))
        assert response.status_code == 200
        got.append([e["seq"] for e in response.json()])
        link = response.headers.get("link")
        url, params = (link.split(";")[0].strip("<>"), None) if link else (None, None)
    assert [seq for page in got for seq in page] == want
    assert [len(page) for page in got] == [3, 3, 2]
