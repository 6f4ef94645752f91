"""Art. 6: an entry's content is checked against its kind's fixed data set."""

from __future__ import annotations

from typing import Any

import pytest

import policies
from covenant import FieldProblem, check_content, load_covenant

MODEL = load_covenant(policies.MODEL_COVENANT)
REGION = load_covenant(policies.DEMO_REGION)

# Values that look like what they would be in real use: personal data, which no problem may repeat.
NAME = "Jan de Vries, geboren 12-03-1971"
BSN = "123456782"


@pytest.mark.parametrize(("kind", "content"), [
    pytest.param("intake", {"domain": "housing", "text": NAME}, id="intake"),
    pytest.param("care_plan", {"item": "goal", "domain": "income", "text": "Schulden in kaart brengen"},
                 id="care-plan-required-only"),
    pytest.param("care_plan", {"item": "action", "domain": "addiction", "text": "Intake verslavingszorg",
                               "responsible_party": "addiction_care", "due_on": "2026-12-31",
                               "status": "in_progress"}, id="care-plan-every-field"),
    pytest.param("care_plan", {"item": "goal", "domain": "income", "text": "x", "due_on": "2028-02-29"},
                 id="care-plan-leap-day"),
    pytest.param("care_plan", {"item": "goal", "domain": "income", "text": "x", "status": None},
                 id="care-plan-optional-none"),
    pytest.param("note", {"text": "a" * 20000}, id="note-at-max-length"),
    pytest.param("contact", {"contact_on": "2026-11-20", "channel": "phone"}, id="contact"),
    pytest.param("contact", {"contact_on": "2026-01-05", "channel": "in_person", "text": "Op het spreekuur"},
                 id="contact-with-text"),
])
def test_conforming_content_has_no_problems(kind: str, content: dict[str, Any]) -> None:
    assert check_content(MODEL, MODEL.entry_kinds[kind], content) == []


NOT_IN_DATA_SET = "not in the data set of this entry kind (art. 6)"
NOT_A_DOMAIN = "must be a life domain code of the covenant"
NOT_A_PARTY = "must be a party code of the covenant"

PROBLEMS = [
    # Art. 6: only necessary data; what falls outside the data set is refused.
    pytest.param("note", {"text": "x", "bsn": BSN},
                 [FieldProblem("bsn", NOT_IN_DATA_SET)], id="unknown-field"),
    pytest.param("note", {"text": "x", "bsn": None},
                 [FieldProblem("bsn", NOT_IN_DATA_SET)], id="unknown-field-none"),
    pytest.param("intake", {"text": NAME}, [FieldProblem("domain", "required")], id="required-missing"),
    pytest.param("intake", {"domain": None, "text": NAME}, [FieldProblem("domain", "required")],
                 id="required-none"),
    pytest.param("contact", {}, [FieldProblem("contact_on", "required"), FieldProblem("channel", "required")],
                 id="all-required-missing"),
    pytest.param("note", {"text": 42}, [FieldProblem("text", "must be a string")], id="text-int"),
    pytest.param("intake", {"domain": ["housing"], "text": "x"}, [FieldProblem("domain", "must be a string")],
                 id="domain-list"),
    pytest.param("care_plan", {"item": True, "domain": "income", "text": "x"},
                 [FieldProblem("item", "must be a string")], id="choice-bool"),
    pytest.param("contact", {"contact_on": 20260105, "channel": "phone"},
                 [FieldProblem("contact_on", "must be a string")], id="date-int"),
    pytest.param("note", {"text": ""}, [FieldProblem("text", "must not be empty")], id="text-empty"),
    pytest.param("note", {"text": " \n\t"}, [FieldProblem("text", "must not be empty")], id="text-blank"),
    pytest.param("care_plan", {"item": "goal", "domain": "income", "text": NAME + "a" * 5000},
                 [FieldProblem("text", "longer than 5000 characters")], id="text-too-long"),
    pytest.param("note", {"text": "a" * 20001}, [FieldProblem("text", "longer than 20000 characters")],
                 id="text-one-too-long"),
    pytest.param("care_plan", {"item": "wish", "domain": "income", "text": "x"},
                 [FieldProblem("item", "must be one of: action, goal")], id="choice-unknown"),
    pytest.param("care_plan", {"item": "Goal", "domain": "income", "text": "x"},
                 [FieldProblem("item", "must be one of: action, goal")], id="choice-case"),
    pytest.param("contact", {"contact_on": "2026-11-20", "channel": "pigeon"},
                 [FieldProblem("channel", "must be one of: digital, in_person, letter, other, phone")],
                 id="channel-unknown"),
    pytest.param("intake", {"domain": "wealth", "text": "x"},
                 [FieldProblem("domain", NOT_A_DOMAIN)], id="life-domain-unknown"),
    pytest.param("care_plan", {"item": "goal", "domain": "income", "text": "x", "responsible_party": NAME},
                 [FieldProblem("responsible_party", NOT_A_PARTY)], id="party-unknown"),
    pytest.param("note", {"text": "x", "bsn": BSN, "name": NAME},
                 [FieldProblem("bsn", NOT_IN_DATA_SET),
                  FieldProblem("name", NOT_IN_DATA_SET)], id="two-unknown-fields"),
    pytest.param("care_plan", {"domain": "wealth", "text": "", "due_on": "2026-02-30", "notes": NAME},
                 [FieldProblem("notes", NOT_IN_DATA_SET),
                  FieldProblem("item", "required"),
                  FieldProblem("domain", NOT_A_DOMAIN),
                  FieldProblem("text", "must not be empty"),
                  FieldProblem("due_on", "must be a date as YYYY-MM-DD")], id="every-problem-at-once"),
]


def _values(content: dict[str, Any]) -> list[str]:
    return [str(value) for value in content.values() if value is not None and str(value).strip()]


@pytest.mark.parametrize(("kind", "content", "expected"), PROBLEMS)
def test_problems_name_the_field_and_never_the_value(kind: str, content: dict[str, Any],
                                                     expected: list[FieldProblem]) -> None:
    problems = check_content(MODEL, MODEL.entry_kinds[kind], content)

    assert problems == expected
    for problem in problems:
        for value in _values(content):
            assert value not in problem.problem


@pytest.mark.parametrize("date", [
    pytest.param("2026-1-5", id="unpadded"),
    pytest.param("05-01-2026", id="day-first"),
    pytest.param("2026-02-30", id="no-such-day"),
    pytest.param("2026-13-01", id="no-such-month"),
    pytest.param("2026/01/05", id="slashes"),
    pytest.param("20260105", id="basic-format"),
    pytest.param("2026-01-05T10:00", id="with-time"),
    pytest.param("2026-01-05 ", id="trailing-space"),
    pytest.param("", id="empty"),
    pytest.param("2026-W02-1", id="iso-week-date"),
])
def test_a_date_is_only_yyyy_mm_dd(date: str) -> None:
    problems = check_content(MODEL, MODEL.entry_kinds["contact"], {"contact_on": date, "channel": "phone"})

    assert problems == [FieldProblem("contact_on", "must be a date as YYYY-MM-DD")]


def test_party_codes_are_those_of_the_covenant_in_force() -> None:
    """A region's own parties replace the model's placeholders; the placeholders are no longer parties."""
    care_plan = REGION.entry_kinds["care_plan"]
    base = {"item": "action", "domain": "housing", "text": "Woning zoeken"}

    assert check_content(REGION, care_plan, {**base, "responsible_party": "opvang-de-haven"}) == []
    assert check_content(REGION, care_plan, {**base, "responsible_party": "shelter"}) == [
        FieldProblem("responsible_party", NOT_A_PARTY)]
