"""Small-count suppression: no cell below k is shown, and none can be derived from the totals."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.reports.suppression import ALL, COMPLEMENTARY, suppress

ROWS, COLUMNS = ["a", "b", "c"], ["active", "stopped"]


def test_counts_at_or_above_k_are_shown_exactly() -> None:
    table = suppress({("a", "active"): 9, ("b", "active"): 5, ("c", "active"): 6, ("a", "stopped"): 7,
                      ("b", "stopped"): 8, ("c", "stopped"): 10}, ROWS, COLUMNS, 5)
    assert table.cells[("a", "active")] == 9
    assert table.cells[("a", ALL)] == 16
    assert table.cells[(ALL, "stopped")] == 25
    assert table.cells[(ALL, ALL)] == 45


def test_a_small_count_is_shown_as_below_k_and_its_line_loses_another_cell() -> None:
    table = suppress({("a", "active"): 9, ("a", "stopped"): 1, ("b", "active"): 20, ("b", "stopped"): 8,
                      ("c", "active"): 30, ("c", "stopped"): 6}, ROWS, COLUMNS, 5)
    assert table.cells[("a", "stopped")] == "<5"
    # a's row: 9 + 1 = 10 would give the 1 away; the stopped column: 1 + 8 + 6 = 15 likewise.
    assert COMPLEMENTARY in (table.cells[("a", "active")], table.cells[("a", ALL)])
    assert COMPLEMENTARY in (table.cells[("b", "stopped")], table.cells[("c", "stopped")],
                             table.cells[(ALL, "stopped")])


def _lines(rows, columns):
    return ([[(row, column) for column in [*columns, ALL]] for row in [*rows, ALL]]
            + [[(row, column) for row in [*rows, ALL]] for column in [*columns, ALL]])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=12), min_size=6, max_size=6), st.integers(min_value=2, max_value=6))
def test_no_line_has_exactly_one_hidden_cell_and_no_small_count_shows(values, k) -> None:
    counts = dict(zip(itertools.product(ROWS, COLUMNS), values))
    table = suppress(counts, ROWS, COLUMNS, k)
    for cell, shown in table.cells.items():
        if isinstance(shown, int):
            assert shown >= k
    for line in _lines(ROWS, COLUMNS):
        hidden = [cell for cell in line if not isinstance(table.cells[cell], int)]
        assert len(hidden) != 1, (line, table.cells)
    # What is shown is the truth.
    for (row, column), shown in table.cells.items():
        if isinstance(shown, int) and row != ALL and column != ALL:
            assert shown == counts[(row, column)]
