"""Legal deadlines from the covenant's terms: calendar months, and the Algemene termijnenwet when adopted.

Pure and fast: the covenant is the shipped model (fourteen days to decide a correction, fourteen more to
carry it out, 28 days for an objection, one month for access, Atw on), varied with ``dataclasses.replace``.
Dates are chosen so that each test lands on the day it names; the weekday is in the comment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

import policies
from covenant import Covenant, Duration, load_covenant
from gateway.rights.terms import KINDS, atw_holidays, decision_due, decision_term, execution_due, is_atw_rest_day

MODEL = load_covenant(policies.MODEL_COVENANT)
D = dt.date


def covenant(*, atw: bool = True, **terms: Duration) -> Covenant:
    return dataclasses.replace(MODEL, terms=dataclasses.replace(MODEL.terms, algemene_termijnenwet=atw, **terms))


WITH_ATW, WITHOUT_ATW = covenant(atw=True), covenant(atw=False)


# --- each kind, from the covenant's terms ------------------------------------------------------------------

def test_the_model_covenant_adopts_the_atw() -> None:
    assert MODEL.terms.algemene_termijnenwet is True


@pytest.mark.parametrize(("kind", "received", "due"), [
    ("correction", D(2026, 11, 2), D(2026, 11, 16)),   # Mon + 14 days = Mon (art. 13.2)
    ("objection", D(2026, 11, 2), D(2026, 11, 30)),    # Mon + 28 days = Mon (art. 14)
    ("access", D(2026, 11, 2), D(2026, 12, 2)),        # Mon + 1 month = Wed (GDPR art. 12(3))
])
def test_each_kind_has_its_own_decision_term(kind: str, received: dt.date, due: dt.date) -> None:
    assert decision_due(WITH_ATW, kind, received) == due
    assert decision_due(WITHOUT_ATW, kind, received) == due


def test_a_correction_is_carried_out_within_its_execution_term() -> None:
    assert execution_due(WITH_ATW, D(2026, 11, 23)) == D(2026, 12, 7)  # Mon + 14 days (art. 13.3)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind of request"):
        decision_due(WITH_ATW, "erasure", D(2026, 11, 2))


def test_a_covenant_with_other_terms_gives_other_dates() -> None:
    other = covenant(atw=False, access=Duration(days=21), correction_decision=Duration(days=7),
                     correction_execution=Duration(days=3), objection_decision=Duration(months=2))
    received = D(2026, 11, 2)

    assert decision_due(other, "access", received) == D(2026, 11, 23)
    assert decision_due(other, "correction", received) == D(2026, 11, 9)
    assert decision_due(other, "objection", received) == D(2027, 1, 2)
    assert execution_due(other, received) == D(2026, 11, 5)
    assert [decision_term(other, kind) for kind in KINDS] == [
        Duration(days=21), Duration(days=7), Duration(months=2)]


# --- months by the calendar ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("received", "due"), [
    (D(2026, 1, 31), D(2026, 2, 28)),   # no 31 February: the month's last day
    (D(2026, 1, 30), D(2026, 2, 28)),
    (D(2026, 1, 28), D(2026, 2, 28)),
    (D(2028, 1, 31), D(2028, 2, 29)),   # leap year
    (D(2028, 1, 29), D(2028, 2, 29)),
    (D(2026, 3, 31), D(2026, 4, 30)),   # 31-day month into a 30-day month
    (D(2026, 4, 30), D(2026, 5, 30)),   # 30-day month into a 31-day month: the same day, not the last
    (D(2026, 12, 31), D(2027, 1, 31)),  # over the year's end
    (D(2026, 2, 28), D(2026, 3, 28)),
])
def test_a_month_is_a_calendar_month(received: dt.date, due: dt.date) -> None:
    assert decision_due(WITHOUT_ATW, "access", received) == due


def test_a_month_ending_on_a_weekend_moves_with_the_atw_only() -> None:
    received = D(2026, 1, 31)   # + 1 month = Sat 28 February
    assert decision_due(WITHOUT_ATW, "access", received) == D(2026, 2, 28)
    assert decision_due(WITH_ATW, "access", received) == D(2026, 3, 2)  # Mon


def test_days_count_from_the_day_after_receipt_across_month_ends() -> None:
    assert decision_due(WITHOUT_ATW, "correction", D(2026, 1, 25)) == D(2026, 2, 8)
    assert decision_due(WITHOUT_ATW, "correction", D(2028, 2, 20)) == D(2028, 3, 5)  # 29 Feb counts
    assert decision_due(WITHOUT_ATW, "objection", D(2026, 12, 10)) == D(2027, 1, 7)


# --- Algemene termijnenwet: weekends and holidays ----------------------------------------------------------

@pytest.mark.parametrize(("case", "received", "plain", "extended"), [
    ("saturday", D(2026, 11, 7), D(2026, 11, 21), D(2026, 11, 23)),
    ("sunday", D(2026, 11, 8), D(2026, 11, 22), D(2026, 11, 23)),
    ("new-year", D(2026, 12, 18), D(2027, 1, 1), D(2027, 1, 4)),             # Fri, then the weekend
    ("good-friday", D(2026, 3, 20), D(2026, 4, 3), D(2026, 4, 7)),           # Fri, weekend, Easter Monday
    ("easter-monday", D(2026, 3, 23), D(2026, 4, 6), D(2026, 4, 7)),
    ("kings-day", D(2026, 4, 13), D(2026, 4, 27), D(2026, 4, 28)),           # Mon 27 April
    ("kings-day-off-a-sunday", D(2025, 4, 12), D(2025, 4, 26), D(2025, 4, 28)),  # 27 April 2025 is a Sunday
    ("liberation-day-lustrum", D(2025, 4, 21), D(2025, 5, 5), D(2025, 5, 6)),
    ("liberation-day-2026", D(2026, 4, 21), D(2026, 5, 5), D(2026, 5, 6)),   # not in the library's 2026 list
    ("liberation-day-2027", D(2027, 4, 21), D(2027, 5, 5), D(2027, 5, 7)),   # nor in 2027's; Thu 6 May is Ascension
    ("ascension", D(2026, 4, 30), D(2026, 5, 14), D(2026, 5, 15)),           # Thu; the bridging Friday is no Atw day
    ("whit-monday", D(2026, 5, 11), D(2026, 5, 25), D(2026, 5, 26)),
    ("christmas-run", D(2026, 12, 11), D(2026, 12, 25), D(2026, 12, 28)),    # Fri 25, Sat 26, Sun 27
    ("boxing-day", D(2029, 12, 12), D(2029, 12, 26), D(2029, 12, 27)),       # Wed 26 December 2029
])
def test_a_term_ending_on_a_rest_day_moves_to_the_next_working_day(case: str, received: dt.date,
                                                                     plain: dt.date, extended: dt.date) -> None:
    assert decision_due(WITHOUT_ATW, "correction", received) == plain
    assert decision_due(WITH_ATW, "correction", received) == extended
    assert is_atw_rest_day(plain)
    assert not is_atw_rest_day(extended)


def test_a_term_ending_on_a_working_day_is_not_moved() -> None:
    assert decision_due(WITH_ATW, "correction", D(2026, 11, 9)) == D(2026, 11, 23)  # Mon


def test_execution_moves_with_the_atw_too() -> None:
    assert execution_due(WITH_ATW, D(2026, 12, 11)) == D(2026, 12, 28)
    assert execution_due(WITHOUT_ATW, D(2026, 12, 11)) == D(2026, 12, 25)


def test_atw_art_2_a_short_term_holds_two_working_days() -> None:
    """Atw art. 2: a term of three days from a Friday would hold only Monday; it runs to Tuesday."""
    three_days = covenant(atw=True, correction_decision=Duration(days=3))
    assert decision_due(three_days, "correction", D(2026, 11, 20)) == D(2026, 11, 24)
    # Thursday + 3 = Sunday: art. 1 gives Monday, which holds Friday and Monday.
    assert decision_due(three_days, "correction", D(2026, 11, 19)) == D(2026, 11, 23)
    # Not below three days: Friday + 2 = Sunday, art. 1 alone gives Monday.
    two_days = covenant(atw=True, correction_decision=Duration(days=2))
    assert decision_due(two_days, "correction", D(2026, 11, 20)) == D(2026, 11, 23)


def test_atw_art_2_counts_holidays_as_rest_days() -> None:
    three_days = covenant(atw=True, correction_decision=Duration(days=3))
    # Thu 2 April 2026 + 3 = Sun 5 April; Good Friday and Easter Monday: the term holds no working day
    # until Tue 7 April and needs a second one, Wed 8 April.
    assert decision_due(three_days, "correction", D(2026, 4, 2)) == D(2026, 4, 8)


def test_atw_art_4_leaves_terms_over_three_months_alone() -> None:
    long = covenant(atw=True, access=Duration(months=4), objection_decision=Duration(days=91),
                    correction_decision=Duration(months=3))
    assert decision_due(long, "access", D(2026, 7, 28)) == D(2026, 11, 28)       # Sat, not moved
    assert decision_due(long, "objection", D(2026, 8, 29)) == D(2026, 11, 28)    # Sat, not moved
    assert decision_due(long, "correction", D(2026, 8, 28)) == D(2026, 11, 30)   # 3 months: Sat 28 -> Mon 30


# --- the holiday list against the Atw's own (art. 3) -------------------------------------------------------

ATW_NAMES = {"New Year's Day", "Good Friday", "Easter Monday", "King's Day", "Queen's Day", "Liberation Day",
             "Ascension Day", "Whit Monday", "Christmas Day", "Second Day of Christmas"}


@pytest.mark.parametrize("year", range(2000, 2041))
def test_the_atw_holidays_are_exactly_art_3s_days_plus_sundays(year: int) -> None:
    """Guards the library: every Atw holiday of the year is one of art. 3's days or a Sunday (Easter Sunday,
    Whit Sunday), and each of art. 3's nine days is there once."""
    named = holidays.country_holidays("NL", years=year, categories=(holidays.PUBLIC, holidays.OPTIONAL),
                                      language="en_US")
    names = {day: {_whit(name) for name in named.get(day, "").split("; ") if name} for day in atw_holidays(year)}
    for day, day_names in names.items():
        assert day.weekday() == 6 or (day_names and day_names <= ATW_NAMES), (day, day_names)
    found = set().union(*names.values()) & ATW_NAMES
    assert len(found) == 9, found  # the King's or (before 2014) the Queen's day, not both


def _whit(name: str) -> str:
    return "Whit Monday" if name == "Pentecost Monday" else name


def test_liberation_day_is_an_atw_holiday_every_year_unlike_the_librarys_public_list() -> None:
    for year in (2025, 2026, 2027):
        assert D(year, 5, 5) in atw_holidays(year)
    public = holidays.country_holidays("NL", years=(2025, 2026, 2027), categories=(holidays.PUBLIC,))
    assert D(2025, 5, 5) in public and D(2026, 5, 5) not in public and D(2027, 5, 5) not in public


def test_good_friday_is_an_atw_holiday_by_art_3_2() -> None:
    assert {D(2025, 4, 18), D(2026, 4, 3), D(2027, 3, 26)} <= atw_holidays(2025) | atw_holidays(2026) | atw_holidays(2027)


def test_kings_day_moves_off_a_sunday() -> None:
    assert D(2025, 4, 26) in atw_holidays(2025)
    assert D(2026, 4, 27) in atw_holidays(2026)
    assert D(2026, 4, 26) not in atw_holidays(2026)


# --- properties -------------------------------------------------------------------------------------------------

dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31))
terms = st.one_of(st.builds(Duration, days=st.integers(1, 120)), st.builds(Duration, months=st.integers(1, 6)),
                  st.builds(Duration, months=st.integers(0, 2), days=st.integers(0, 40)).filter(lambda d: d != Duration()))


@given(kind=st.sampled_from(KINDS), received=dates, term=terms)
def test_the_due_date_is_never_early_and_never_a_rest_day_under_the_atw(kind: str, received: dt.date,
                                                                          term: Duration) -> None:
    field = {"access": "access", "correction": "correction_decision", "objection": "objection_decision"}[kind]
    with_atw, without = covenant(atw=True, **{field: term}), covenant(atw=False, **{field: term})
    plain = term.after(received)

    assert decision_due(without, kind, received) == plain
    due = decision_due(with_atw, kind, received)
    assert plain <= due <= plain + dt.timedelta(days=10)
    long = term.years or term.months > 3 or (term.months == 3 and term.days) or (not term.months and term.days > 90)
    assert due == plain if long else not is_atw_rest_day(due)


@given(received=dates, term=terms)
def test_a_calendar_term_lands_after_the_receipt(received: dt.date, term: Duration) -> None:
    assert term.after(received) > received
