"""The purge takes a client's disclosures (art. 5), tasks (art. 10) and consents with the file."""

from __future__ import annotations

import uuid

from gateway.care import service as care_service
from gateway.consents import service as consents_service
from gateway.disclosures import service as disclosures_service
from gateway.records import service as records_service
from gateway.retention.service import purge
from tests.gateway.helpers import act
from tests.retention.test_purge import DAY_AFTER, new_client, rows_about, trail_verifies


def test_disclosures_tasks_and_consents_go_with_the_file(runtime, demo):
    manager = demo.staff["client_manager"]
    doomed = new_client(runtime, demo)
    for member in ("ggz_worker", "police_officer"):
        act(runtime, manager, lambda tx, member=member: care_service.grant_link(
            tx, client_id=doomed, staff_id=uuid.UUID(demo.staff[member]), purpose="case_management",
            reason="asked for their records"))
    act(runtime, demo.staff["ggz_worker"], lambda tx: records_service.write_entry(
        tx, doomed, purpose="wellbeing", kind="note", category="special", content={"text": "partner data"}))
    criminal = act(runtime, demo.staff["police_officer"], lambda tx: records_service.write_entry(
        tx, doomed, purpose="nuisance_reduction", kind="note", category="criminal", content={"text": "area ban"}))
    act(runtime, demo.staff["prosecutor"], lambda tx: disclosures_service.approve(
        tx, doomed, criminal, purpose="nuisance_reduction", recipient_party=demo.parties["shelter"]))
    act(runtime, manager, lambda tx: consents_service.record_consent(
        tx, doomed, purpose="case_management", scope="municipality_care_office"))
    before = rows_about(runtime, doomed)
    assert (before["criminal_disclosure"], before["client_task"], before["consent"]) == (1, 1, 1)

    purge(runtime, today=DAY_AFTER)

    assert rows_about(runtime, doomed) == {}
    trail_verifies(runtime)
