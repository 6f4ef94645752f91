"""The chain itself, pure: what a hash covers."""

import datetime as dt
import uuid

import pytest

from audit.chain import CHAINED_FIELDS, GENESIS, OPTIONAL_CHAINED_FIELDS, canonical, link

MOMENT = dt.datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=dt.UTC)


def event(**changes):
    values = {name: None for name in CHAINED_FIELDS}
    values.update(seq=7, id=uuid.UUID(int=7), occurred_at=MOMENT, action="record.read", outcome="permit",
                  reason="permitted", actor_id="a", client_pseudonym="CL-0000-0007", detail={"n": 1},
                  prev_hash=GENESIS)
    values.update(changes)
    return values


def test_hash_is_deterministic_and_depends_on_the_predecessor():
    assert link(GENESIS, event()) == link(GENESIS, event())
    assert link(GENESIS, event()) != link(b"\x01" * 32, event())


@pytest.mark.parametrize("name", CHAINED_FIELDS)
def test_every_recorded_field_is_covered_by_the_hash(name):
    original = event()
    changed = event(**{name: {"n": 2} if name == "detail" else
                       MOMENT + dt.timedelta(microseconds=1) if name == "occurred_at" else
                       uuid.UUID(int=8) if name == "id" else
                       8 if name == "seq" else
                       b"\x02" * 32 if name == "prev_hash" else
                       "changed"})
    assert canonical(changed) != canonical(original)
    assert link(GENESIS, changed) != link(GENESIS, original)


def test_the_same_moment_in_another_zone_hashes_the_same():
    amsterdam = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert canonical(event(occurred_at=amsterdam)) == canonical(event())


def test_naive_moments_are_refused():
    with pytest.raises(ValueError):
        canonical(event(occurred_at=MOMENT.replace(tzinfo=None)))


def test_canonical_form_is_sorted_compact_json():
    assert canonical(event()).startswith(b'{"access_point":null,"action":"record.read"')


# --- fields added after the first version (OPTIONAL_CHAINED_FIELDS) --------------------------------

# The hash of ``event()`` as the first version of the chain computed it, before any field was added.
FIRST_VERSION_HASH = "c1d344d059da0400deda5bfc326312c6d0147f115e576bb82bc10c735d387891"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_an_event_written_before_the_trace_field_existed_hashes_as_it_did():
    assert link(GENESIS, event()).hex() == FIRST_VERSION_HASH
    assert link(GENESIS, event(traceparent=None)).hex() == FIRST_VERSION_HASH
    assert b"traceparent" not in canonical(event())


@pytest.mark.parametrize("name", OPTIONAL_CHAINED_FIELDS)
def test_an_added_field_is_covered_once_set(name):
    unset, set_ = event(), event(**{name: TRACEPARENT})
    changed = event(**{name: TRACEPARENT.replace("-01", "-00")})
    assert len({link(GENESIS, unset), link(GENESIS, set_), link(GENESIS, changed)}) == 3


def test_an_event_without_an_activity_hashes_as_before_the_field_existed() -> None:
    """0012activity: the events written before it have no activity and keep their hashes; one with an
    activity cannot lose or change it unseen."""
    import uuid as _uuid
    import datetime as _dt
    from audit.chain import CHAINED_FIELDS, canonical, link

    values = {name: None for name in CHAINED_FIELDS}
    values.update(seq=1, id=_uuid.UUID(int=1), occurred_at=_dt.datetime(2026, 11, 1, tzinfo=_dt.UTC),
                  action="record.read", outcome="permit", reason="permitted", prev_hash=bytes(32))
    before = link(bytes(32), values)
    assert link(bytes(32), {**values, "activity": None}) == before
    assert b'"activity"' not in canonical(values)
    named = link(bytes(32), {**values, "activity": "demo-region:housing"})
    assert named != before
    assert named != link(bytes(32), {**values, "activity": "demo-region:income"})
