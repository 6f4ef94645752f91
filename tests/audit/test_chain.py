"""The chain itself, pure: what a hash covers."""

import datetime as dt
import uuid

import pytest

from audit.chain import CHAINED_FIELDS, GENESIS, canonical, link

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
