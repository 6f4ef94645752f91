"""De-identifying a client for statistics (art. 9.4-9.5): generalise, then check for small groups.

Pure: no database. A client becomes a :class:`Row` of quasi-identifiers and banded measures. Nothing in
it is a name, a BSN, free text, an id, or an exact date: dates become quarters (or years, or ``*``),
counts become bands. The gateway holds no date of birth (the covenant's data set has none, art. 6), so
there is no age band; a data set that adds one would add it here as a quasi-identifier in ten-year bands.

k-anonymity with local recoding, checked before a row is kept. The quasi-identifiers are what someone
who knew the client could match on: when the client was registered, when last seen, which kinds of
organisation cared for them. They are generalised along a ladder (:data:`LADDER`: quarters and party
kinds; years and party kinds; years; the last contact's year alone). A row is **kept** (in the extract)
at the first level at which it and the rows that generalise to the same values number at least ``k``.
Clients are destroyed one at a time, so a group of ``k`` cannot be checked when the first of them goes:
a candidate that has no such group yet is **held** (de-identified as at level 0, in a table only this
module reads, never part of the extract) and counts towards the groups of those that come after it; as
soon as its group reaches ``k`` it is kept at that level, with the rest of the group. A row kept never
drops below ``k``: rows are only ever added, so its group only grows. A held row whose group can no
longer grow (every client last seen in that year has passed its term, and a year's grace for holds and
late purges) is **suppressed**: deleted, never kept. The top of the ladder (everything ``*``) is not used:
a row that says nothing but its bands is kept only once it shares at least the year of last contact
with ``k - 1`` others, or else it is suppressed; so rows are not kept at a level where they tell nothing.

The measures (the bands) are not grouped on: they are what the statistics are about; that a group may
share one value (l-diversity) is not checked. Rows are released greedily, at the level their group
reaches first, so an early group of ``k`` at the last-contact year keeps its rows that coarse even if
finer groups form later: safe before precise (a periodic global recoding of the held rows would keep more
detail, at the cost of holding them longer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

ANY = "*"
# Each level: how registration, last contact and party kinds are shown.
LADDER: tuple[tuple[str, str, bool], ...] = (
    ("quarter", "quarter", True),
    ("year", "year", True),
    ("year", "year", False),
    ("any", "year", False),
)
TOP = len(LADDER) - 1
_BANDS = ((0, "0"), (1, "1-4"), (5, "5-19"), (20, "20-99"), (100, "100+"))


def band(count: int) -> str:
    """A count as its band: ``0``, ``1-4``, ``5-19``, ``20-99``, ``100+``."""
    label = _BANDS[0][1]
    for floor, name in _BANDS:
        if count >= floor:
            label = name
    return label


def quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass(frozen=True, slots=True)
class Row:
    level: int
    registered: str
    last_contact: str
    party_kinds: str
    entries: str
    entries_ordinary: str
    entries_special: str
    entries_criminal: str
    objection: bool

    @property
    def quasi(self) -> tuple[str, str, str]:
        return self.registered, self.last_contact, self.party_kinds


def _period(value: str, how: str) -> str:
    if how == "any" or value == ANY:
        return ANY
    return value[:4] if how == "year" else value


def generalise(row: Row, level: int) -> Row:
    """``row`` at ``level`` (not below its own: a generalised value cannot be made precise again)."""
    if level < row.level:
        raise ValueError("a row cannot be made more precise than it is kept")
    registered, last_contact, kinds = LADDER[level]
    return replace(row, level=level, registered=_period(row.registered, registered),
                   last_contact=_period(row.last_contact, last_contact),
                   party_kinds=row.party_kinds if kinds else ANY)


def first_row(*, registered_on: dt.date, last_contact_on: dt.date | None, party_kinds: Iterable[str],
              counts: dict[str, int], objection: bool) -> Row:
    """The client at level 0. ``counts``: entries per category; no contact reported counts as the
    registration (the term ran from it)."""
    return Row(level=0, registered=quarter(registered_on), last_contact=quarter(last_contact_on or registered_on),
               party_kinds="+".join(sorted(set(party_kinds))) or ANY, entries=band(sum(counts.values())),
               entries_ordinary=band(counts.get("ordinary", 0)), entries_special=band(counts.get("special", 0)),
               entries_criminal=band(counts.get("criminal", 0)), objection=objection)


def _at(level: int, row_level: int, registered: str, last_contact: str, kinds: str) -> tuple[str, str, str] | None:
    if row_level > level:
        return None
    how = LADDER[level]
    return _period(registered, how[0]), _period(last_contact, how[1]), kinds if how[2] else ANY


def group_size(row: Row, others: Iterable[Row], level: int) -> int:
    """How many clients ``row`` at ``level`` stands with: itself and every other row (kept or held) at or
    below ``level`` that generalises to the same values."""
    target = generalise(row, level).quasi
    return 1 + sum(1 for other in others if other is not row and _at(level, other.level, *other.quasi) == target)


def release(held: list[Row], kept: list[Row], k: int) -> list[tuple[int, Row]]:
    """Which held rows (all at level 0) can be kept now (their index in ``held``), each generalised to the
    first level at which its group of kept and held rows holds at least ``k`` clients; the rest stay held.

    A row released at level L had a group of at least ``k`` at L; each held member of that group has the
    same group at L, so it is released at L or below, and the group stays whole among the kept rows."""
    pool = list(kept) + list(held)
    released: list[tuple[int, Row]] = []
    for index, row in enumerate(held):
        for level in range(TOP + 1):
            if group_size(row, pool, level) >= k:
                kept_row = generalise(row, level)
                pool[len(kept) + index] = kept_row
                released.append((index, kept_row))
                break
    return released


def closed(row: Row, today: dt.date, after_last_contact) -> bool:
    """Whether ``row``'s group can no longer grow: every client last seen in its last contact's year has
    passed its term (``after_last_contact``, a :class:`covenant.Duration`) a year ago (a year's grace for
    legal holds and late purges), so no new client can join it even at the top of the ladder."""
    year = int(row.last_contact[:4])
    return today > after_last_contact.after(dt.date(year + 1, 12, 31))
