"""De-identification and the small-group check of the statistics extract (art. 9.4-9.5): pure, no database."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from covenant import Duration
from gateway.statistics.extract import ANY, Row, band, closed, first_row, generalise, group_size, quarter, release


def client(registered=dt.date(2026, 2, 10), last_contact=dt.date(2026, 5, 3), kinds=("shelter", "mental_health"),
           counts=None, objection=False) -> Row:
    return first_row(registered_on=registered, last_contact_on=last_contact, party_kinds=kinds,
                     counts=counts or {"ordinary": 3, "special": 7}, objection=objection)


def test_a_client_becomes_quarters_kinds_and_bands():
    row = client()
    assert (row.level, row.registered, row.last_contact, row.party_kinds) == (0, "2026-Q1", "2026-Q2",
                                                                             "mental_health+shelter")
    assert (row.entries, row.entries_ordinary, row.entries_special, row.entries_criminal) == ("5-19", "1-4",
                                                                                            "5-19", "0")


def test_no_contact_counts_as_the_registration_and_no_team_as_any():
    row = first_row(registered_on=dt.date(2026, 11, 23), last_contact_on=None, party_kinds=(), counts={},
                    objection=True)
    assert (row.registered, row.last_contact, row.party_kinds, row.entries, row.objection) == (
        "2026-Q4", "2026-Q4", ANY, "0", True)


@pytest.mark.parametrize(("count", "label"), [(0, "0"), (1, "1-4"), (4, "1-4"), (5, "5-19"), (19, "5-19"),
                                              (20, "20-99"), (99, "20-99"), (100, "100+"), (12345, "100+")])
def test_counts_are_banded(count, label):
    assert band(count) == label


def test_quarters():
    assert [quarter(dt.date(2030, month, 1)) for month in (1, 3, 4, 6, 7, 9, 10, 12)] == [
        "2030-Q1", "2030-Q1", "2030-Q2", "2030-Q2", "2030-Q3", "2030-Q3", "2030-Q4", "2030-Q4"]


def test_the_ladder_generalises_and_never_back():
    row = client()
    assert generalise(row, 1).quasi == ("2026", "2026", "mental_health+shelter")
    assert generalise(row, 2).quasi == ("2026", "2026", ANY)
    assert generalise(row, 3).quasi == (ANY, "2026", ANY)
    with pytest.raises(ValueError):
        generalise(generalise(row, 2), 1)


def test_a_row_with_no_group_of_k_is_held():
    assert release([client()], [], 3) == []
    assert release([client(), client()], [], 3) == []


def test_k_identical_clients_are_kept_at_the_finest_level():
    rows = [client() for _ in range(3)]
    released = release(rows, [], 3)
    assert [index for index, _ in released] == [0, 1, 2]
    assert {row.level for _, row in released} == {0}


def test_clients_that_differ_are_generalised_until_their_group_reaches_k():
    rows = [client(kinds=("shelter",)), client(kinds=("police",)), client(registered=dt.date(2025, 9, 1))]
    released = release(rows, [], 3)
    assert len(released) == 3
    # Different party kinds and a different registration year: only the last contact's year is shared.
    assert {row.quasi for _, row in released} == {(ANY, "2026", ANY)}
    assert {row.level for _, row in released} == {3}


def test_a_client_of_another_year_stays_held():
    rows = [client(), client(), client(last_contact=dt.date(2027, 1, 5))]
    assert release(rows, [], 2) == [(0, generalise(rows[0], 0)), (1, generalise(rows[1], 0))]
    assert release(rows, [], 3) == []


def test_kept_rows_count_towards_a_new_clients_group_only_at_or_above_their_level():
    kept = [generalise(client(), 1), generalise(client(), 1)]
    newcomer = client(registered=dt.date(2026, 8, 1))  # another quarter, the same year
    assert group_size(newcomer, kept, 0) == 1
    assert group_size(newcomer, kept, 1) == 3
    assert release([newcomer], kept, 3) == [(0, generalise(newcomer, 1))]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_every_kept_row_stands_for_at_least_k_clients_however_they_arrive(k):
    """The invariant, over a stream of varied clients arriving one at a time: every kept row's group at
    its own level, among the kept rows, holds at least k."""
    kinds = [("shelter",), ("shelter", "police"), ("mental_health",)]
    kept: list[Row] = []
    held: list[Row] = []
    for n in range(40):
        held.append(client(registered=dt.date(2025 + n % 2, 1 + n % 12, 1), last_contact=dt.date(2027, 1 + n % 5, 2),
                           kinds=kinds[n % 3]))
        released = release(held, kept, k)
        kept += [row for _, row in released]
        gone = {index for index, _ in released}
        held = [row for index, row in enumerate(held) if index not in gone]
        for row in kept:
            assert group_size(row, kept, row.level) >= k
    assert len(kept) + len(held) == 40 and len(kept) >= 40 - (k - 1)
    assert Counter(row.level for row in kept)  # something was kept


def test_a_held_row_is_closed_once_its_year_has_passed_the_term_and_a_years_grace():
    row = client(last_contact=dt.date(2026, 5, 3))
    five_years = Duration(years=5)
    assert not closed(row, dt.date(2032, 12, 31), five_years)
    assert closed(row, dt.date(2033, 1, 1), five_years)
