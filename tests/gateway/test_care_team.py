"""The care team: one client manager per client grants and ends partners' access (Instrument 2)."""

from __future__ import annotations

import threading
import uuid

import pytest

from audit import AuditAction, Outcome
from gateway.care import service as care_service
from gateway.clients.models import Client
from gateway.errors import Conflict, Forbidden
from gateway.parties.models import Staff
from gateway.parties.service import staff_row
from tests.gateway.helpers import act, auth, last_event, register_client, token


def add_staff(runtime, clock, party, *roles) -> uuid.UUID:
    staff_id = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**staff_row(
            staff_id=staff_id, party=party, handle=f"test.{staff_id}", roles=list(roles), now=clock())))
    return staff_id


def test_the_registering_client_manager_is_the_clients_client_manager(runtime, demo):
    client_id = register_client(runtime, demo.staff["client_manager"])
    with runtime.session() as session:
        assert str(session.get(Client, client_id).client_manager_id) == demo.staff["client_manager"]


def test_a_linked_partner_who_manages_other_clients_cannot_take_over_the_team(runtime, demo, http, clock):
    # A GGZ worker who is client manager for other clients, linked to this client as a partner.
    partner = add_staff(runtime, clock, demo.parties["mental_health"], "client_manager")
    client_id = uuid.UUID(demo.clients[0])
    act(runtime, demo.staff["client_manager"], lambda tx: care_service.grant_link(
        tx, client_id=client_id, staff_id=partner, purpose="case_management", reason="psychiatric assessment"))

    with pytest.raises(Forbidden):
        act(runtime, partner, lambda tx: care_service.grant_link(
            tx, client_id=client_id, staff_id=uuid.UUID(demo.staff["police_officer"]), purpose="case_management",
            reason="wants the police in"))
    refused = last_event(runtime, action=AuditAction.LINK_GRANT, actor_id=str(partner))
    assert (refused.outcome, refused.reason) == (Outcome.DENY, "not_client_manager")
    police = http.get(f"/v1/clients/{client_id}/entries",
                      headers=auth(token(runtime, demo.staff["police_officer"]), "nuisance_reduction"))
    assert police.status_code == 403

    manager_link = last_event(runtime, action=AuditAction.LINK_GRANT, actor_id=demo.staff["client_manager"],
                              authority="client.register").object_id
    with pytest.raises(Forbidden):
        act(runtime, partner, lambda tx: care_service.end_link(
            tx, client_id=client_id, link_id=uuid.UUID(manager_link), purpose="case_management", reason="mine now"))
    manager = http.get(f"/v1/clients/{client_id}/entries", headers=auth(token(runtime, demo.staff["client_manager"])))
    assert manager.status_code == 200


def test_the_field_director_manages_any_care_team(runtime, demo, http):
    client_id = uuid.UUID(demo.clients[0])
    act(runtime, demo.staff["field_director"], lambda tx: care_service.grant_link(
        tx, client_id=client_id, staff_id=uuid.UUID(demo.staff["police_officer"]), purpose="case_management",
        reason="case conference on nuisance"))
    event = last_event(runtime, action=AuditAction.LINK_GRANT, actor_id=demo.staff["field_director"])
    assert (event.outcome, event.authority) == (Outcome.PERMIT, "role:field_director")
    police = http.get(f"/v1/clients/{client_id}/entries",
                      headers=auth(token(runtime, demo.staff["police_officer"]), "nuisance_reduction"))
    assert police.status_code == 200


def test_a_member_is_linked_once_even_when_two_grants_race(runtime, demo, engine_name):
    client_id = uuid.UUID(demo.clients[0])
    member = uuid.UUID(demo.staff["police_officer"])
    outcomes = []
    barrier = threading.Barrier(2)

    def grant() -> None:
        def work(tx):
            care_service.grant_link(tx, client_id=client_id, staff_id=member, purpose="case_management",
                                    reason="twice at once")
            barrier.wait(timeout=60)  # both have passed the early check before either commits
        try:
            act(runtime, demo.staff["client_manager"], work)
            outcomes.append("linked")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=grant) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "linked"]
    failed = last_event(runtime, action=AuditAction.LINK_GRANT, outcome=Outcome.ERROR)
    assert failed.reason == "write_failed"
