"""The processing register (art. 15, GDPR art. 30) of the demo covenant, and the activity every audit event names."""

from __future__ import annotations

import json
import uuid

import pytest

from audit import AuditEvent
from gateway import operations
from gateway.register.activities import activity_for
from gateway.register.document import build_register, to_markdown
from gateway.register.service import export_register_as_administrator
from tests.gateway.helpers import auth, events, last_event, token
from tests.gateway.test_cli import env, gateway  # noqa: F401 (env is a fixture)

ACCOUNTABILITY = "accountability"


def _activity(register, purpose):
    [found] = [activity for activity in register["activities"] if activity["purpose"] == purpose]
    return found


def test_the_register_of_the_demo_covenant(runtime, demo):
    register = export_register_as_administrator(runtime, export_format="json")
    covenant = runtime.covenant
    assert register["covenant"] == {"id": "demo-region", "version": covenant.version, "name": covenant.name,
                                    "digest": covenant.digest}
    assert register["controller"]["party"] == "gemeente-demostad"
    assert register["controller"]["name"] == "College van B&W Demostad"
    assert [a["id"] for a in register["activities"]] == [covenant.activity_of(code) for code in sorted(covenant.purposes)]
    assert len({a["id"] for a in register["activities"]}) == len(covenant.purposes)

    housing = _activity(register, "housing")
    assert housing["id"] == "demo-region:housing"
    assert housing["legal_basis"]["covenant_article"] == "4"
    assert housing["data_subjects"][0].startswith("clients")
    assert [c["code"] for c in housing["data_categories"]] == ["ordinary", "special", "criminal"]
    readers = {r["kind"]: r for r in housing["recipients"]}
    assert set(readers) == {"shelter", "mental_health", "police", "prosecution", "care_office", "municipality"}
    assert readers["police"]["categories"] == ["criminal", "ordinary"]
    assert "criminal" not in readers["shelter"]["categories"]
    assert readers["shelter"]["parties"] == ["opvang-de-haven"]
    assert housing["retention"]["file"].startswith("P5Y after the client's last contact")
    assert housing["transfers_outside_eu"] == "none"

    administration = _activity(register, "covenant_administration")
    assert administration["data_categories"] == []
    assert [d["code"] for d in administration["personal_data"]] == ["audit", "staff"]
    accountability = _activity(register, "accountability")
    assert [d["code"] for d in accountability["personal_data"]] == ["aggregates"]
    assert not any(subject.startswith("clients") for subject in accountability["data_subjects"])
    assert any(r["kind"] == "administrator" for r in administration["recipients"])
    oversight = _activity(register, "oversight")
    assert oversight["recipients"] == [{"kind": "roles", "roles": ["privacy_officer"],
                                        "who": "staff of the covenant's parties in these roles"}]

    assert register["transfers"]["outside_eu"] == "none"
    measures = {m["code"] for m in register["security_measures"]}
    assert {"client_keys", "audit_trail", "least_privilege", "break_the_glass_review", "crypto_shredding"} <= measures
    assert all(m["where"] and m["what"] for m in register["security_measures"])

    event = last_event(runtime, action="register.export")
    assert (event.outcome, event.actor_id, event.purpose, event.activity) == \
        ("permit", "administrator", ACCOUNTABILITY, "demo-region:accountability")
    assert event.object_id == covenant.label
    assert event.detail == {"format": "json", "activities": len(covenant.purposes)}


def test_the_register_in_markdown_names_every_activity_and_measure(runtime, demo):
    register = build_register(runtime.covenant, now=runtime.clock())
    text = to_markdown(register)
    assert text.startswith("# Processing register (covenant art. 15, GDPR art. 30)\n")
    for activity in register["activities"]:
        assert f"- Activity: `{activity['id']}`" in text
    for measure in register["security_measures"]:
        assert f"**{measure['title']}**" in text
    assert "None outside the EU" in text
    assert "College van B&W Demostad" in text


def test_the_register_follows_the_covenant_not_a_template(runtime, demo):
    """A change to the covenant (here: police may no longer read criminal data) changes the register."""
    import dataclasses

    covenant = runtime.covenant
    police = dataclasses.replace(covenant.party_kinds["police"], read=frozenset({"ordinary"}))
    changed = dataclasses.replace(covenant, party_kinds={**covenant.party_kinds, "police": police})
    housing = _activity(build_register(changed, now=runtime.clock()), "housing")
    assert {r["kind"]: r["categories"] for r in housing["recipients"]}["police"] == ["ordinary"]


def test_every_event_of_a_demo_run_names_an_activity_of_the_register(runtime, demo, http):
    staff = demo.staff
    client_id = demo.clients[0]
    manager, officer = token(runtime, staff["client_manager"]), token(runtime, staff["privacy_officer"])
    http.get(f"/v1/clients/{client_id}/entries", headers=auth(manager, "housing"))
    http.get(f"/v1/clients/{client_id}/entries", headers=auth(token(runtime, staff["police_officer"]), "housing"))
    http.get(f"/v1/clients/{client_id}/entries", headers=auth(None, "housing"))              # auth.rejected
    http.get(f"/v1/clients/{client_id}/entries", headers=auth(manager, "no_such_purpose"))   # request.rejected
    http.get(f"/v1/clients/{client_id}/entries", headers=auth(manager, None))                # no purpose
    http.get("/v1/audit/events", headers=auth(officer, "oversight"))
    http.get("/v1/register", headers=auth(officer, ACCOUNTABILITY))
    http.get("/v1/reports/monthly", params={"month": "2026-11"}, headers=auth(token(runtime, staff["field_director"]),
                                                                              ACCOUNTABILITY))
    operations.issue_token(runtime, staff_id=uuid.UUID(staff["ggz_worker"]))
    operations.seal_now(runtime)
    operations.verify_trail(runtime)

    register = export_register_as_administrator(runtime, export_format="json")
    known = {activity["id"] for activity in register["activities"]}
    trail = events(runtime)
    assert len(trail) > 20
    assert [e.seq for e in trail if e.activity is None] == []
    assert {e.activity for e in trail} <= known
    named = {(e.action, e.reason): e.activity for e in trail}
    assert named[("auth.rejected", "token_missing")] == "demo-region:oversight"
    assert named[("request.rejected", "purpose_unknown")] == "demo-region:oversight"
    assert named[("token.issue", "permitted")] == "demo-region:covenant_administration"
    assert named[("demo.seed", "permitted")] == "demo-region:covenant_administration"
    assert named[("record.list", "not_linked")] == "demo-region:housing"
    assert named[("audit.read", "permitted")] == "demo-region:oversight"
    assert named[("report.monthly", "permitted")] == "demo-region:accountability"


def test_activity_for_prefers_the_stated_purpose(runtime):
    covenant = runtime.covenant
    assert activity_for(covenant, "record.read", "income") == "demo-region:income"
    assert activity_for(covenant, "record.read", "not_a_purpose") == "demo-region:oversight"
    assert activity_for(covenant, "job.run", None) == "demo-region:covenant_administration"
    assert activity_for(covenant, "request.reminded", None) == "demo-region:subject_rights"
    assert activity_for(covenant, "retention.extract", None) == "demo-region:statistics"


def test_the_audit_api_shows_the_activity(runtime, demo, http):
    officer = token(runtime, demo.staff["privacy_officer"])
    answer = http.get("/v1/audit/events", params={"action": "demo.seed"}, headers=auth(officer, "oversight"))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"] if isinstance(answer.json(), dict) else answer.json()
    assert items and all(item["activity"] == "demo-region:covenant_administration" for item in items)


def test_the_register_over_http(runtime, demo, http):
    officer, director = token(runtime, demo.staff["privacy_officer"]), token(runtime, demo.staff["field_director"])
    answer = http.get("/v1/register", headers=auth(officer, ACCOUNTABILITY))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["controller"]["party"] == "gemeente-demostad"
    assert last_event(runtime, action="register.export").actor_id == demo.staff["privacy_officer"]

    text = http.get("/v1/register", params={"format": "markdown"}, headers=auth(director, ACCOUNTABILITY))
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/markdown")
    assert "- Activity: `demo-region:housing`" in text.text
    event = last_event(runtime, action="register.export")
    assert (event.outcome, event.actor_id, event.detail["format"], event.authority) == \
        ("permit", demo.staff["field_director"], "markdown", "controller:field_director")


@pytest.mark.parametrize("who, scopes, purpose, status, reason", [
    (None, None, ACCOUNTABILITY, 401, None),
    ("police_officer", None, ACCOUNTABILITY, 403, "scope_missing"),
    ("client_manager", {"reports:read"}, ACCOUNTABILITY, 403, "role_not_for_purpose"),
    ("privacy_officer", None, "oversight", 403, "purpose_not_for_action"),
])
def test_the_register_is_refused_to_others(runtime, demo, http, who, scopes, purpose, status, reason):
    bearer = token(runtime, demo.staff[who], scopes=scopes) if who else None
    answer = http.get("/v1/register", headers=auth(bearer, purpose))
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    if reason:
        event = last_event(runtime, action="register.export")
        assert (event.outcome, event.reason, event.actor_id) == ("deny", reason, demo.staff[who])
    else:
        assert last_event(runtime, action="auth.rejected").reason == "token_missing"


def test_the_register_from_the_command_line(env, tmp_path):  # noqa: F811
    gateway(env, "demo", "--json")
    out = tmp_path / "register.json"
    result = gateway(env, "register", "--format", "json", "--output", str(out))
    assert "written to" in result.stderr
    register = json.loads(out.read_text())
    assert register["controller"]["party"] == "gemeente-demostad"
    text = gateway(env, "register").stdout
    assert text.startswith("# Processing register")
    assert "- Activity: `demo-region:covenant_administration`" in text
