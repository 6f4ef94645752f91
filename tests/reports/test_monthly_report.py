"""The monthly report to the coordination point (Instrument 2), on the demo plus generated clients, with a
controlled clock, on both engines."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gateway.clients.models import Client
from gateway.demo import seed_demo
from gateway.records import service as records_service
from gateway.reports.service import monthly_report_as_administrator, to_markdown
from gateway.rights import service as rights_service
from tests.gateway.helpers import act, auth, last_event, register_client, token

ACCOUNTABILITY = "accountability"
SHELTER, UNASSIGNED = "opvang-de-haven", "unassigned"


def at(day: int, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, 0, tzinfo=dt.UTC)  # noon in Amsterdam: the same calendar day


def write(runtime, staff_id, client_id, kind: str) -> None:
    content = {"domain": "housing", "text": "Generated for the report."}
    if kind == "care_plan":
        content["item"] = "goal"
    act(runtime, staff_id, lambda tx: records_service.write_entry(tx, client_id, purpose="housing", kind=kind,
                                                                  category="ordinary", content=content))


@pytest.fixture
def october(runtime, clock):
    """The demo (registered 1 October, intake and care plan at once), twelve clients registered by the
    shelter's client manager on 2 October (intake due the 9th, care plan the 30th) and two by the field
    director on 3 October (no client manager: unassigned)."""
    clock.set(at(1))
    cast = seed_demo(runtime)
    manager, director = cast.staff["client_manager"], cast.staff["field_director"]
    clock.set(at(2))
    clients = [register_client(runtime, manager, informed_at=clock()) for _ in range(12)]
    clock.set(at(3))
    unassigned = [register_client(runtime, director) for _ in range(2)]
    clock.set(at(2) + dt.timedelta(hours=1))
    for client_id in clients[:6]:   # access: due 2 November, open at the end of October but not late
        act(runtime, manager, lambda tx, c=client_id: rights_service.record_request(tx, c, purpose="subject_rights",
                                                                                    kind="access"))
    for client_id in clients[6:8]:  # objection: due 30 October, open and late at the end of October
        act(runtime, manager, lambda tx, c=client_id: rights_service.record_request(
            tx, c, purpose="subject_rights", kind="objection", statement="Does not want the police informed."))
    clock.set(at(5))
    for client_id in clients[:7]:
        write(runtime, manager, client_id, "intake")
    return cast, clients, unassigned


def test_the_october_report(runtime, clock, october):
    cast, clients, unassigned = october
    manager = cast.staff["client_manager"]

    clock.set(at(6))  # the intakes of five clients are due on the 9th and not done yet: open
    early = monthly_report_as_administrator(runtime, month="2026-10", export_format="json")["tables"]
    assert early["intake_in_time"][SHELTER]["all"] == 8     # the demo client's and seven
    assert early["intake_open"][SHELTER]["all"] == 5
    assert early["intake_open"][UNASSIGNED]["all"] == "<5"  # two, no client manager to do it
    assert early["intake_late"]["all"]["all"] == "<5"       # none

    clock.set(at(12))
    for client_id in clients[7:]:
        write(runtime, manager, client_id, "intake")      # three days late
    clock.set(at(20))
    for client_id in clients[:6]:
        write(runtime, manager, client_id, "care_plan")

    clock.set(at(15, 11))
    report = monthly_report_as_administrator(runtime, month="2026-10", export_format="json")
    tables = report["tables"]
    assert report["month"] == "2026-10"
    assert report["period"] == {"from": "2026-10-01", "until": "2026-10-31", "time_zone": "Europe/Amsterdam"}
    assert report["suppress_below"] == 5
    assert report["parties"] == sorted([*runtime.covenant.parties, UNASSIGNED])

    assert tables["in_approach"][SHELTER]["all"] == 13
    assert tables["in_approach"]["all"]["all"] == 15
    assert tables["in_approach"][UNASSIGNED]["all"] == "<5"
    # The shelter has no client with processing stopped: "<5"; its 13 active would give that 0 away from the
    # total 13, so it is withheld too.
    assert tables["in_approach"][SHELTER]["processing_stopped"] == "<5"
    assert tables["in_approach"][SHELTER]["active"] == "x"
    assert tables["registered"][SHELTER]["all"] == 13
    assert tables["active"][SHELTER]["all"] == 13
    assert tables["intake_in_time"][SHELTER]["all"] == 8
    assert tables["intake_late"][SHELTER]["all"] == 5
    assert tables["intake_late"]["all"]["all"] == 7
    assert tables["intake_open"]["all"]["all"] == "<5"
    assert tables["care_plan_in_time"][SHELTER]["all"] == 7
    assert tables["care_plan_late"][SHELTER]["all"] == 6
    assert tables["care_plan_late"]["all"]["all"] == 8
    assert tables["requests_received"][SHELTER]["all"] == 8
    assert tables["requests_open"][SHELTER]["all"] == 8
    assert tables["requests_late"][SHELTER]["all"] == "<5"
    for table in tables.values():
        for row in table.values():
            for value in row.values():
                assert value in ("<5", "x") or (isinstance(value, int) and value >= 5)

    # No names, ids or pseudonyms.
    with runtime.session() as session:
        pseudonyms = list(session.scalars(select(Client.pseudonym)))
    text = json.dumps(report) + to_markdown(report)
    for secret in [*map(str, clients), *map(str, unassigned), *cast.clients, *cast.staff.values(), *pseudonyms]:
        assert secret not in text

    event = last_event(runtime, action="report.monthly")
    assert (event.outcome, event.actor_id, event.purpose, event.activity, event.object_id) == \
        ("permit", "administrator", ACCOUNTABILITY, "demo-region:accountability", "2026-10")
    assert event.detail["suppressed"] > 0


def test_the_next_month_counts_the_open_requests_as_late(runtime, clock, october):
    clock.set(at(2, 12))
    tables = monthly_report_as_administrator(runtime, month="2026-11", export_format="json")["tables"]
    assert tables["registered"]["all"]["all"] == "<5"      # nobody registered in November
    assert tables["in_approach"]["all"]["all"] == 15
    assert tables["requests_received"]["all"]["all"] == "<5"
    assert tables["requests_open"][SHELTER]["all"] == 8
    assert tables["requests_late"][SHELTER]["all"] == 8    # access due 2 November, objections 30 October
    assert tables["care_plan_late"]["all"]["all"] == "<5"  # none fell due in November


def test_the_report_over_http(runtime, clock, october, http):
    cast = october[0]
    clock.set(at(15, 11))
    director = token(runtime, cast.staff["field_director"])
    answer = http.get("/v1/reports/monthly", params={"month": "2026-10"}, headers=auth(director, ACCOUNTABILITY))
    assert answer.status_code == 200, answer.text
    assert answer.json()["tables"]["in_approach"]["all"]["all"] == 15
    event = last_event(runtime, action="report.monthly")
    assert (event.actor_id, event.authority, event.detail["format"]) == \
        (cast.staff["field_director"], "controller:field_director", "json")

    text = http.get("/v1/reports/monthly", params={"month": "2026-10", "format": "markdown"},
                    headers=auth(director, ACCOUNTABILITY))
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/markdown")
    assert "| opvang-de-haven | x | <5 | 13 |" in text.text


@pytest.mark.parametrize("who, month, status, action_reason", [
    ("privacy_officer", "2026-10", 403, ("report.monthly", "role_required")),
    ("police_officer", "2026-10", 403, ("report.monthly", "scope_missing")),
    ("field_director", "2026-12", 422, ("report.monthly", "month_invalid")),
    ("field_director", "2026-13", 422, ("request.rejected", "request_invalid")),
    (None, "2026-10", 401, ("auth.rejected", "token_missing")),
])
def test_the_report_is_refused(runtime, clock, october, http, who, month, status, action_reason):
    cast = october[0]
    clock.set(at(15, 11))
    bearer = token(runtime, cast.staff[who]) if who else None
    answer = http.get("/v1/reports/monthly", params={"month": month}, headers=auth(bearer, ACCOUNTABILITY))
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    action, reason = action_reason
    event = last_event(runtime, action=action)
    assert (event.outcome, event.reason) == ("deny", reason)
    # The purpose stated names the activity; a request refused before its purpose is checked, oversight's.
    expected = "demo-region:oversight" if action == "auth.rejected" else "demo-region:accountability"
    assert event.activity == expected


def test_the_report_from_the_command_line(env, tmp_path):  # noqa: F811
    gateway(env, "demo", "--json")
    # The command line runs on the wall clock; the month is the covenant's (its time zone's), in which the
    # demo client was registered just now.
    month = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).strftime("%Y-%m")
    text = gateway(env, "report", "monthly", "--month", month).stdout
    assert text.startswith("# Monthly progress report to the coordination point")
    report = json.loads(gateway(env, "report", "monthly", "--month", month, "--format", "json").stdout)
    assert report["tables"]["in_approach"]["all"]["all"] == "<5"  # the one demo client
    refused = gateway(env, "report", "monthly", "--month", "2999-01", check=False)
    assert refused.returncode == 3
    assert "not begun" in refused.stderr


from tests.gateway.test_cli import env, gateway  # noqa: E402,F401 (env is a fixture)


def test_a_malformed_month_is_refused_and_not_recorded(runtime, clock):
    from gateway.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        monthly_report_as_administrator(runtime, month="Jan de Vries", export_format="json")
    event = last_event(runtime, action="report.monthly")
    assert (event.outcome, event.reason, event.object_id) == ("deny", "month_invalid", None)
