"""The legal deadlines of a client's request, from the covenant's terms.

Pure: dates in, dates out, no database and no clock. The request workflow computes a request's deadlines
once, when it records the request (and the decision), and stores them on the row (STYLE: deadlines are
stored when created, never recomputed from "now"); so a covenant that later changes its terms does not
move the deadline of a request already running, and the trail shows the date the client was promised.

The terms themselves are the covenant's (``[terms]``), never constants here:

- access (art. 11-12): ``terms.access``, one month unless the covenant says otherwise (GDPR art. 12(3));
- correction (art. 13.2): decide within ``terms.correction_decision`` of receipt, and (art. 13.3) carry the
  decision out within ``terms.correction_execution`` of it; a refusal, with reasons, within the decision term;
- objection (art. 14): decide within ``terms.objection_decision``.

A term runs from the day after the day of receipt and ends at the end of its last day: 14 days from a
request received on 1 March ends on 15 March. Months count by the calendar (:meth:`Duration.after`: 31
January + one month is the last day of February).

**Algemene termijnenwet.** The Atw extends terms "set in a statute" (art. 1(1)); a covenant is no statute
and the GDPR's own term falls under EU Regulation 1182/71 instead, so the Atw applies here only when the
covenant adopts it (``[terms] algemene_termijnenwet = true``). It then says:

- art. 1(1): a term ending on a Saturday, Sunday or generally recognised holiday is extended to the next day
  that is none of those;
- art. 2: a term of at least three days is extended, where needed, until it contains at least two days that
  are none of those (only ever at stake for terms of a few days: a covenant with fourteen-day terms always
  has them, but nothing stops a covenant from stating a shorter term);
- art. 3(1): the generally recognised holidays are New Year's Day, Easter Monday and Whit Monday, Christmas
  Day and Boxing Day, Ascension Day, the day the King's birthday is celebrated, and 5 May; art. 3(2) treats
  Good Friday the same. So Good Friday *does* extend a term (it is in the library's list too);
- art. 3(3): the Crown may equate further days by decree (the bridging days published in the Staatscourant
  every few years). These are not in any holiday library and are not applied here: the due date computed
  is then at most that bridging day early, which errs on the side of the client;
- art. 4: the Atw does not apply to terms of more than three months (90 days, 12 weeks); such a term ends
  where the calendar puts it, whatever the covenant says about the Atw.

The holidays come from the maintained ``holidays`` package (``holidays.NL``, its public category), not a
hand-written list, adapted where it differs from the Atw:

- the library counts Liberation Day (5 May) as a public holiday only every fifth year (2025, 2030), as the
  day off it is in most collective agreements; the Atw names 5 May every year, so it is added every year;
- the library also lists Easter Sunday and Whit Sunday, which are Sundays and so change nothing.
"""

from __future__ import annotations

import datetime as dt
import functools

import holidays

from covenant import Covenant, Duration
from covenant.model import Terms

KINDS = ("access", "correction", "objection")

# Atw art. 4: not for terms of more than three months, 12 weeks or 90 days.
_ATW_LONGEST_MONTHS = 3
_ATW_LONGEST_DAYS = 90
# Atw art. 2: a term of at least three days holds at least two days that are no Saturday, Sunday or holiday.
_ATW_SHORT_TERM_DAYS = 3
_ATW_WORKING_DAYS_IN_TERM = 2


def decision_term(covenant: Covenant, kind: str) -> Duration:
    """The term within which a request of ``kind`` is decided (art. 12, 13.2, 14)."""
    terms = covenant.terms
    if kind == "access":
        return terms.access
    if kind == "correction":
        return terms.correction_decision
    if kind == "objection":
        return terms.objection_decision
    raise ValueError(f"unknown kind of request: {kind!r} (known: {', '.join(KINDS)})")


def decision_due(covenant: Covenant, kind: str, received: dt.date) -> dt.date:
    """The last day on which a request of ``kind`` received on ``received`` is to be decided."""
    return term_end(covenant.terms, decision_term(covenant, kind), received)


def execution_due(covenant: Covenant, decided: dt.date) -> dt.date:
    """Art. 13.3: the last day on which a correction decided on ``decided`` is to be carried out."""
    return term_end(covenant.terms, covenant.terms.correction_execution, decided)


def term_end(terms: Terms, term: Duration, start: dt.date) -> dt.date:
    """The last day of ``term`` running from ``start`` (the day of the event, which does not count), extended
    by the Algemene termijnenwet when the covenant's ``terms`` adopt it and the term is not too long for it."""
    end = term.after(start)
    if not terms.algemene_termijnenwet or _longer_than_atw_covers(term):
        return end
    # Art. 1(1): to the next day that is no Saturday, Sunday or holiday.
    while is_atw_rest_day(end):
        end += dt.timedelta(days=1)
    # Art. 2: at least two such days in a term of at least three days. Extending day by day stops on a
    # working day, so art. 1 still holds afterwards.
    if (term.after(start) - start).days >= _ATW_SHORT_TERM_DAYS:
        while _working_days(start, end) < _ATW_WORKING_DAYS_IN_TERM:
            end += dt.timedelta(days=1)
    return end


def is_atw_rest_day(day: dt.date) -> bool:
    """Whether ``day`` is a Saturday, a Sunday or a generally recognised holiday (Atw art. 1 and 3)."""
    return day.weekday() >= 5 or day in atw_holidays(day.year)


@functools.lru_cache(maxsize=64)
def atw_holidays(year: int) -> frozenset[dt.date]:
    """The generally recognised holidays of ``year`` in the sense of Atw art. 3(1)-(2).

    From ``holidays.NL`` (public category), which includes Good Friday (art. 3(2)) and the King's (before
    2014 the Queen's) day as it is celebrated, moved off a Sunday; plus 5 May every year, where the library
    has it only in lustrum years (see the module docstring). Sundays the library lists add nothing.
    """
    days = set(holidays.country_holidays("NL", years=year, categories=(holidays.PUBLIC,)))
    days.add(dt.date(year, 5, 5))  # art. 3(1): "de vijfde mei", every year
    return frozenset(days)


def _longer_than_atw_covers(term: Duration) -> bool:
    months = 12 * term.years + term.months
    if months:
        return months > _ATW_LONGEST_MONTHS or (months == _ATW_LONGEST_MONTHS and term.days > 0)
    return term.days > _ATW_LONGEST_DAYS


def _working_days(start: dt.date, end: dt.date) -> int:
    """The days after ``start`` up to and including ``end`` that are no Saturday, Sunday or holiday."""
    days = (start + dt.timedelta(days=offset) for offset in range(1, (end - start).days + 1))
    return sum(1 for day in days if not is_atw_rest_day(day))


__all__ = ["KINDS", "atw_holidays", "decision_due", "decision_term", "execution_due", "is_atw_rest_day",
           "term_end"]
