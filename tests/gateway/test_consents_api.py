"""Consent over the API: the care office reads what the municipality wrote on a client only while the
client's consent to that exchange is in force; withdrawn, it is refused from that moment."""

from __future__ import annotations

import uuid

from audit import AuditAction, Outcome
from covenant import Role
from gateway.care import service as care_service
from gateway.consents.models import Consent
from gateway.parties import service as parties_service
from gateway.parties.models import Staff
from tests.gateway.helpers import act, auth, events, last_event, token

SCOPE = "municipality_care_office"
NOTE = {"kind": "note", "category": "ordinary", "content": {"text": "Wlz indication requested in May."}}


def _staff(runtime, demo, party: str, handle: str) -> str:
    staff_id = uuid.uuid4()
    values = parties_service.staff_row(staff_id=staff_id, party=party, handle=handle, roles=[Role.STAFF],
                                       now=runtime.clock())
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**values))
    act(runtime, demo.staff["client_manager"], lambda tx: care_service.grant_link(
        tx, client_id=uuid.UUID(demo.clients[0]), staff_id=staff_id, purpose="case_management",
        reason="Wlz care to arrange"))
    return str(staff_id)


def _seen(http, headers, client_id, entry_id) -> tuple[int, bool]:
    one = http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=headers)
    listed = http.get(f"/v1/clients/{client_id}/entries", headers=headers)
    assert listed.status_code == 200
    return one.status_code, entry_id in {item["id"] for item in listed.json()}


def test_the_care_office_reads_the_municipalitys_entry_only_while_consent_is_in_force(runtime, demo, http):
    client_id = demo.clients[0]
    municipality = _staff(runtime, demo, "gemeente-demostad", "gemeente.wmo")
    care_office = _staff(runtime, demo, "zorgkantoor-demo", "zorgkantoor.wlz")
    written = http.post(f"/v1/clients/{client_id}/entries", json=NOTE,
                        headers=auth(token(runtime, municipality), "income"))
    assert written.status_code == 201, written.text
    entry_id = written.json()["id"]
    reader = auth(token(runtime, care_office), "wellbeing")
    manager = auth(token(runtime, demo.staff["client_manager"]), "case_management")
    url = f"/v1/clients/{client_id}/consents"

    refused = http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=reader)
    assert refused.status_code == 403 and refused.json()["reason"] == "consent_missing"
    assert last_event(runtime, action=AuditAction.RECORD_READ).reason == "consent_missing"
    assert _seen(http, reader, client_id, entry_id) == (403, False)
    # The care office still sees the rest of the file (the shelter's entries).
    assert http.get(f"/v1/clients/{client_id}/entries", headers=reader).json()

    given = http.post(url, json={"scope": SCOPE}, headers=manager)
    assert given.status_code == 201, given.text
    consent = given.json()
    assert (consent["scope"], consent["in_force"], consent["recorded_by"]) == (SCOPE, True,
                                                                               demo.staff["client_manager"])
    assert last_event(runtime, action=AuditAction.CONSENT_RECORD).detail == {"scope": SCOPE}
    assert http.post(url, json={"scope": SCOPE}, headers=manager).status_code == 409
    assert _seen(http, reader, client_id, entry_id) == (200, True)

    assert [item["id"] for item in http.get(url, headers=manager).json()] == [consent["id"]]
    withdrawn = http.post(f"{url}/{consent['id']}/withdraw", headers=manager)
    assert withdrawn.status_code == 200 and withdrawn.json()["in_force"] is False
    again = http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=reader)
    assert again.status_code == 403 and again.json()["reason"] == "consent_withdrawn"
    assert _seen(http, reader, client_id, entry_id) == (403, False)
    assert http.post(f"{url}/{consent['id']}/withdraw", headers=manager).status_code == 409
    assert http.post(f"{url}/{uuid.uuid4()}/withdraw", headers=manager).status_code == 404
    assert [e.outcome for e in events(runtime, action=AuditAction.CONSENT_WITHDRAW)] == [
        Outcome.PERMIT, Outcome.ERROR, Outcome.ERROR]
    # The municipality's own staff read their own entry throughout.
    assert _seen(http, auth(token(runtime, municipality), "income"), client_id, entry_id) == (200, True)


def test_only_the_client_manager_records_consent_for_a_known_exchange(runtime, demo, http):
    url = f"/v1/clients/{demo.clients[0]}/consents"
    manager = auth(token(runtime, demo.staff["client_manager"]), "case_management")
    unknown = http.post(url, json={"scope": "police_housing"}, headers=manager)
    assert unknown.status_code == 422 and last_event(runtime, action=AuditAction.CONSENT_RECORD).reason == (
        "scope_unknown")
    ggz = http.post(url, json={"scope": SCOPE}, headers=auth(token(runtime, demo.staff["ggz_worker"]),
                                                             "case_management"))
    assert ggz.status_code == 403
    director = http.post(url, json={"scope": SCOPE}, headers=auth(token(runtime, demo.staff["field_director"]),
                                                                  "case_management"))
    assert director.status_code == 403
    assert runtime.session().query(Consent).count() == 0
