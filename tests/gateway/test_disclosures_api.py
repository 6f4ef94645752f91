"""Art. 5 over the API: a criminal entry stays hidden from a linked shelter worker until a prosecutor
approves its disclosure to the shelter, and again from the moment the approval is revoked."""

from __future__ import annotations

from audit import AuditAction, Outcome
from tests.gateway.helpers import auth, events, last_event, link, token

CRIMINAL_NOTE = {"kind": "note", "category": "criminal", "content": {"text": "Area ban for the station, 3 months."}}


def _criminal_entry(runtime, demo, http) -> str:
    link(runtime, demo, "police_officer")
    police = auth(token(runtime, demo.staff["police_officer"]), "nuisance_reduction")
    created = http.post(f"/v1/clients/{demo.clients[0]}/entries", json=CRIMINAL_NOTE, headers=police)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _seen(http, headers, client_id, entry_id) -> tuple[int, bool]:
    one = http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=headers).status_code
    listed = http.get(f"/v1/clients/{client_id}/entries", headers=headers)
    assert listed.status_code == 200
    return one, entry_id in {item["id"] for item in listed.json()}


def test_a_criminal_entry_is_seen_only_while_a_prosecutor_has_disclosed_it(runtime, demo, http):
    client_id = demo.clients[0]
    entry_id = _criminal_entry(runtime, demo, http)
    shelter = auth(token(runtime, demo.staff["client_manager"]), "housing")
    ggz = auth(token(runtime, demo.staff["ggz_worker"]), "wellbeing")
    prosecutor = auth(token(runtime, demo.staff["prosecutor"]), "nuisance_reduction")
    url = f"/v1/clients/{client_id}/entries/{entry_id}/disclosures"
    assert _seen(http, shelter, client_id, entry_id) == (403, False)

    approved = http.post(url, json={"recipient_party": demo.parties["shelter"]}, headers=prosecutor)
    assert approved.status_code == 201, approved.text
    disclosure = approved.json()
    assert disclosure["in_force"] and disclosure["approved_by"] == demo.staff["prosecutor"]
    event = last_event(runtime, action=AuditAction.DISCLOSURE_APPROVE)
    assert (event.outcome, event.authority, event.object_id) == (Outcome.PERMIT, "role:prosecutor", disclosure["id"])
    assert event.detail == {"entry_id": entry_id, "recipient_party": demo.parties["shelter"]}
    assert http.post(url, json={"recipient_party": demo.parties["shelter"]}, headers=prosecutor).status_code == 409

    assert _seen(http, shelter, client_id, entry_id) == (200, True)
    read = last_event(runtime, action=AuditAction.RECORD_READ, object_id=entry_id)
    assert (read.outcome, read.authority) == (Outcome.PERMIT, f"disclosure:{disclosure['id']}")
    assert _seen(http, ggz, client_id, entry_id) == (403, False)  # disclosed to the shelter, not to GGZ

    listed = http.get(url, headers=prosecutor)
    assert listed.status_code == 200 and [item["id"] for item in listed.json()] == [disclosure["id"]]
    revoked = http.post(f"{url}/{disclosure['id']}/revoke", headers=prosecutor)
    assert revoked.status_code == 200 and revoked.json()["in_force"] is False
    assert _seen(http, shelter, client_id, entry_id) == (403, False)
    assert http.post(f"{url}/{disclosure['id']}/revoke", headers=prosecutor).status_code == 409
    assert [e.outcome for e in events(runtime, action=AuditAction.DISCLOSURE_REVOKE)] == [Outcome.PERMIT,
                                                                                          Outcome.ERROR]


def test_an_approval_is_refused_to_a_non_prosecutor_for_other_data_and_for_the_chain(runtime, demo, http):
    client_id = demo.clients[0]
    entry_id = _criminal_entry(runtime, demo, http)
    url = f"/v1/clients/{client_id}/entries/{entry_id}/disclosures"
    body = {"recipient_party": demo.parties["shelter"]}
    manager = auth(token(runtime, demo.staff["client_manager"]), "housing")
    assert http.post(url, json=body, headers=manager).status_code == 403
    police = auth(token(runtime, demo.staff["police_officer"]), "nuisance_reduction")
    assert http.post(url, json=body, headers=police).status_code == 403

    prosecutor = auth(token(runtime, demo.staff["prosecutor"]), "nuisance_reduction")
    ordinary = http.get(f"/v1/clients/{client_id}/entries", headers=manager).json()[0]["id"]
    refused = http.post(f"/v1/clients/{client_id}/entries/{ordinary}/disclosures", json=body, headers=prosecutor)
    assert refused.status_code == 403 and refused.json()["reason"] == "not_criminal_data"
    to_police = http.post(url, json={"recipient_party": demo.parties["police"]}, headers=prosecutor)
    assert to_police.status_code == 403 and to_police.json()["reason"] == "disclosure_not_needed"
    unknown = http.post(url, json={"recipient_party": "nobody"}, headers=prosecutor)
    assert unknown.status_code == 403 and unknown.json()["reason"] == "recipient_unknown"
    denials = [e.reason for e in events(runtime, action=AuditAction.DISCLOSURE_APPROVE)]
    assert denials == ["scope_missing", "scope_missing", "not_criminal_data", "disclosure_not_needed",
                       "recipient_unknown"]
    assert http.get(url, headers=prosecutor).json() == []
    assert _seen(http, manager, client_id, entry_id) == (403, False)
