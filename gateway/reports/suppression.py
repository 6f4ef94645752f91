"""Small-count suppression for the monthly report's tables (Instrument 2: aggregates, not personal data).

A table is a count per (party, status) with its margins: each party's total over the statuses, each
status's total over the parties, and the grand total. Publishing it as is would single out clients: a
"1" in a party's column of clients with stopped processing says that one client of that party objected.

1. Primary suppression: every cell, margins included, below the threshold ``k`` (the covenant's
   ``[reporting] suppress_below``, or ``[retention] statistics_k``) is withheld and shown as ``<k``
   (zero included: "none" is as telling as "one" in a small party).
2. Complementary suppression: a withheld cell must not be derivable from the cells shown. Every line of
   the table is an equation (a party's cells add up to its total; a status's cells to its total; the
   totals to the grand total), so a line with exactly one withheld cell would give it away by
   subtraction. For each such line the smallest other cell shown is withheld too (shown as ``x``), and
   this is repeated until no line has exactly one withheld cell. Each line then has none or at least two
   withheld, so subtraction gives only the sum of two or more withheld cells, never one of them.

Rounding the totals was the alternative; it was not taken because a rounded total still bounds a single
withheld cell to a small interval when the line's other cells are shown exactly, and because the
coordination point needs the exact numbers wherever they are safe. What this does not protect against,
and the docs say so: differencing two reports (a month and the next) over counts that change by one
client. The report's counts are cumulative or per month, its parties are parties (not teams), and it is
given only to the controller's field directors.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "all"
COMPLEMENTARY = "x"


@dataclass(frozen=True, slots=True)
class Table:
    """The cells shown: a number, ``<k`` (below the threshold) or ``x`` (withheld so that a ``<k`` cell
    cannot be derived), for each (row, column) with ``ALL`` for the margins."""

    cells: dict[tuple[str, str], int | str]

    def as_json(self, rows: list[str], columns: list[str]) -> dict[str, dict[str, int | str]]:
        return {row: {column: self.cells[row, column] for column in [*columns, ALL]} for row in [*rows, ALL]}


def suppress(counts: dict[tuple[str, str], int], rows: list[str], columns: list[str], k: int) -> Table:
    """The table of ``counts`` (missing cells are 0) with its margins, small counts suppressed."""
    values: dict[tuple[str, str], int] = {}
    for row in rows:
        for column in columns:
            values[row, column] = counts.get((row, column), 0)
    for row in rows:
        values[row, ALL] = sum(values[row, column] for column in columns)
    for column in columns:
        values[ALL, column] = sum(values[row, column] for row in rows)
    values[ALL, ALL] = sum(values[row, ALL] for row in rows)

    primary = {cell for cell, value in values.items() if value < k}
    withheld = set(primary)
    lines = ([[(row, column) for column in [*columns, ALL]] for row in [*rows, ALL]]
             + [[(row, column) for row in [*rows, ALL]] for column in [*columns, ALL]])
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [cell for cell in line if cell in withheld]
            if len(hidden) != 1:
                continue
            shown = [cell for cell in line if cell not in withheld]
            if not shown:
                continue
            # The smallest cell shown costs the least information; inner cells before the line's total.
            cell = min(shown, key=lambda c: (values[c], ALL in c))
            withheld.add(cell)
            changed = True
    return Table({cell: (f"<{k}" if cell in primary else COMPLEMENTARY if cell in withheld else value)
                  for cell, value in values.items()})
