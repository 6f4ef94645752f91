"""The demo: a covenant region with a shelter, a GGZ institution, the police, the public prosecutor and the
municipality.

Idempotent: staff and the demo client have fixed ids, and what exists is left alone. Everything is
done through the same services as the API (client registration, the care team, entries), so the
demo's trail shows what real use looks like. The content is fictional.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select

from audit import AuditAction
from covenant import Action, Resource, Role
from gateway.care import service as care_service
from gateway.clients import service as clients_service
from gateway.clients.models import Client
from gateway.operations import ADMINISTRATION, start_service
from gateway.parties import service as parties_service
from gateway.parties.models import Staff
from gateway.records import service as records_service
from gateway.runtime import Runtime
from gateway.transaction import Actor, Transaction

DEMO_NAMESPACE = uuid.UUID("5d0c7a36-8f1e-4c53-9d36-0b2f5e1c9a70")
CASE_MANAGEMENT = "case_management"

# name in the demo's output, party kind, roles
DEMO_STAFF = (
    ("client_manager", "shelter", (Role.CLIENT_MANAGER,)),
    ("ggz_worker", "mental_health", (Role.STAFF,)),
    ("police_officer", "police", (Role.STAFF,)),
    ("privacy_officer", "municipality", (Role.PRIVACY_OFFICER,)),
    ("field_director", "municipality", (Role.FIELD_DIRECTOR,)),
    ("prosecutor", "prosecution", (Role.PROSECUTOR,)),
)
DEMO_PARTY_KINDS = ("shelter", "mental_health", "police", "municipality", "prosecution")


@dataclass(frozen=True)
class DemoIds:
    staff: dict[str, str]
    clients: list[str]
    parties: dict[str, str]

    def as_json(self) -> dict:
        return {"staff": self.staff, "clients": self.clients, "parties": self.parties}


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, name)


def _parties_by_kind(runtime: Runtime) -> dict[str, str]:
    covenant = runtime.covenant
    found = {}
    for kind in DEMO_PARTY_KINDS:
        codes = sorted(code for code, party in covenant.parties.items() if party.kind == kind)
        if kind == "municipality" and covenant.controller in codes:
            codes = [covenant.controller]
        if not codes:
            raise ValueError(f"the covenant in force has no {kind} party for the demo")
        found[kind] = codes[0]
    return found


def seed_demo(runtime: Runtime) -> DemoIds:
    start_service(runtime, verb="demo")
    parties = _parties_by_kind(runtime)
    staff_ids = {name: demo_id(f"staff:{name}") for name, _, _ in DEMO_STAFF}
    administrator = Actor.administrator()

    tx = Transaction(runtime, access_point="cli:demo", actor=administrator)
    decision = tx.authorize(Action.DEMO_SEED, Resource(), purpose=ADMINISTRATION, audit_action=AuditAction.DEMO_SEED)
    if not decision.allowed:
        tx.abandon("refused")
        raise tx.refuse(decision)
    existing = set(tx.session.scalars(select(Staff.id).where(Staff.id.in_(staff_ids.values()))))
    rows = [parties_service.staff_row(staff_id=staff_ids[name], party=parties[kind], handle=f"demo.{name}",
                                      roles=list(roles), now=tx.now)
            for name, kind, roles in DEMO_STAFF if staff_ids[name] not in existing]
    if rows:
        tx.write(lambda conn: conn.execute(insert(Staff), rows))
    tx.commit()

    client_id = demo_id("client:1")
    with runtime.session() as session:
        client_exists = session.get(Client, client_id) is not None
    if not client_exists:
        _seed_client(runtime, client_id, staff_ids)
    return DemoIds(staff={name: str(staff_id) for name, staff_id in staff_ids.items()},
                   clients=[str(client_id)], parties=parties)


def _in_transaction(runtime: Runtime, staff_id: uuid.UUID, work) -> None:
    tx = Transaction(runtime, access_point="cli:demo", actor=Actor.staff_member(staff_id, "gateway-demo"))
    try:
        work(tx)
    except Exception as exc:
        tx.abandon(getattr(exc, "slug", "internal_error"))
        raise
    tx.commit()


def _seed_client(runtime: Runtime, client_id: uuid.UUID, staff_ids: dict[str, uuid.UUID]) -> None:
    manager, ggz = staff_ids["client_manager"], staff_ids["ggz_worker"]

    _in_transaction(runtime, manager, lambda tx: clients_service.register_client(
        tx, purpose=CASE_MANAGEMENT, informed_at=tx.now, client_id=client_id))
    _in_transaction(runtime, manager, lambda tx: care_service.grant_link(
        tx, client_id=client_id, staff_id=ggz, purpose=CASE_MANAGEMENT,
        reason="GGZ Rivierland does the psychiatric assessment for the care plan"))

    def manager_entries(tx: Transaction) -> None:
        shelter = tx.identify().subject.party
        records_service.write_entry(tx, client_id, purpose="housing", kind="intake", category="ordinary",
                                    content={"domain": "housing", "text": "Sleeps in the night shelter since "
                                             "September. Wants a room of his own, near his sister."})
        records_service.write_entry(tx, client_id, purpose="housing", kind="care_plan", category="ordinary",
                                    content={"item": "goal", "domain": "housing", "text": "A room of his own "
                                             "within three months.", "responsible_party": shelter, "status": "open"})
        records_service.write_entry(tx, client_id, purpose="wellbeing", kind="contact", category="ordinary",
                                    content={"contact_on": tx.now.date().isoformat(), "channel": "in_person"})

    _in_transaction(runtime, manager, manager_entries)
    _in_transaction(runtime, ggz, lambda tx: records_service.write_entry(
        tx, client_id, purpose="wellbeing", kind="note", category="special",
        content={"text": "Assessment planned for next week; medication review with the GP."}))
