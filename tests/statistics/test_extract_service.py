"""Taking the statistics extract when a client is destroyed (art. 9.4-9.5), on both engines: only with the
controller's decision, de-identified (no name, BSN, free text, id or exact date), kept only in groups of k,
held until then, suppressed when its group can no longer form; and no other part of the gateway reads it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from audit import AuditAction
from gateway.clients import service as clients_service
from gateway.clients.models import Client
from gateway.records import service as records_service
from gateway.statistics import service as statistics_service
from gateway.statistics.models import StatisticsDecision, StatisticsExtract, StatisticsHeld
from gateway.transaction import Actor, Transaction
from tests.gateway.helpers import act, events
from tests.statistics.helpers import at

MARKER = "EXTRACT-MARKER-91c2: slept at the station on Tuesday"
EXTRACT_COLUMNS = {"id", "level", "registered", "last_contact", "party_kinds", "entries", "entries_ordinary",
                   "entries_special", "entries_criminal", "objection"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def k3(runtime):
    """The demo covenant with ``[retention] statistics_k = 3``, so that small groups are few clients."""
    covenant = runtime.covenant
    runtime.covenant = dataclasses.replace(covenant, retention=dataclasses.replace(covenant.retention,
                                                                                    statistics_k=3))
    yield runtime.covenant
    runtime.covenant = covenant


def register(runtime, demo) -> str:
    return str(act(runtime, demo.staff["client_manager"], lambda tx: clients_service.register_client(
        tx, purpose="case_management")).id)


def decide(runtime, demo, client_id) -> None:
    act(runtime, demo.staff["field_director"],
        lambda tx: statistics_service.decide_statistics(tx, uuid.UUID(client_id), purpose="statistics"))


def destroy(runtime, client_id) -> None:
    """What the purge's hook does inside a client's destruction transaction (the rest of it is the purge's)."""
    tx = Transaction(runtime, access_point="test", actor=Actor.administrator())
    statistics_service.take_extract(tx, uuid.UUID(client_id))
    tx.commit()


def rows(runtime, table) -> list:
    with runtime.session() as session:
        return list(session.scalars(select(table)))


def pseudonym(runtime, client_id) -> str:
    with runtime.session() as session:
        return session.get(Client, uuid.UUID(client_id)).pseudonym


def test_without_a_decision_nothing_is_taken(runtime, demo):
    destroy(runtime, demo.clients[0])
    assert rows(runtime, StatisticsExtract) == rows(runtime, StatisticsHeld) == []
    assert events(runtime, action=AuditAction.RETENTION_EXTRACT) == []


def test_the_extract_is_held_until_k_and_kept_generalised_with_nothing_that_identifies(runtime, demo, clock, k3):
    demo_client = demo.clients[0]
    act(runtime, demo.staff["client_manager"], lambda tx: records_service.write_entry(
        tx, uuid.UUID(demo_client), purpose="wellbeing", kind="note", category="special",
        content={"text": MARKER}))
    others = [register(runtime, demo), register(runtime, demo)]
    clients = [demo_client, *others]
    names = {client_id: pseudonym(runtime, client_id) for client_id in clients}
    for client_id in clients:
        decide(runtime, demo, client_id)

    at(clock, dt.date(2031, 11, 1))
    destroy(runtime, clients[0])
    destroy(runtime, clients[1])
    assert rows(runtime, StatisticsExtract) == []  # two clients: no group of three yet
    assert len(rows(runtime, StatisticsHeld)) == 2
    destroy(runtime, clients[2])
    assert rows(runtime, StatisticsHeld) == []
    kept = rows(runtime, StatisticsExtract)
    assert len(kept) == 3
    # The demo client's team is a shelter and a GGZ institution, the others' the shelter alone: the three
    # share their years, not their party kinds.
    assert {(row.level, row.registered, row.last_contact, row.party_kinds) for row in kept} == {
        (2, "2026", "2026", "*")}
    demo_row = next(row for row in kept if row.entries_special != "0")
    assert (demo_row.entries_special, demo_row.objection) == ("1-4", False)
    assert rows(runtime, StatisticsDecision) == []  # consumed

    # No forbidden field: the columns, and no value that is an id, a pseudonym, content or an exact date.
    assert {column.name for column in StatisticsExtract.__table__.columns} == EXTRACT_COLUMNS
    assert {column["name"] for column in inspect(runtime.engine).get_columns("statistics_extract")} == EXTRACT_COLUMNS
    for row in kept:
        values = [str(getattr(row, name)) for name in EXTRACT_COLUMNS - {"id"}]
        for value in values:
            assert not _ISO_DATE.search(value) and MARKER not in value
            assert not any(client_id in value or name in value for client_id, name in names.items())
        assert str(row.id) not in clients

    recorded = events(runtime, action=AuditAction.RETENTION_EXTRACT)
    assert [event.client_pseudonym for event in recorded] == [names[client_id] for client_id in clients]
    assert [(event.detail["held"], event.detail["kept"]) for event in recorded] == [(True, 0), (True, 0), (False, 3)]
    for event in recorded:
        assert event.object_id is None and MARKER not in str(event.detail)
        assert not any(str(row.id) in str(event.detail) for row in kept)


def test_a_held_row_whose_group_can_no_longer_form_is_suppressed(runtime, demo, clock, k3):
    first = demo.clients[0]
    decide(runtime, demo, first)
    at(clock, dt.date(2031, 11, 1))
    destroy(runtime, first)
    assert len(rows(runtime, StatisticsHeld)) == 1

    # Years later a client of another year: nobody last seen in 2026 can still join the first one's group.
    at(clock, dt.date(2032, 6, 1))
    later = register(runtime, demo)
    decide(runtime, demo, later)
    at(clock, dt.date(2033, 1, 2))
    destroy(runtime, later)
    held = rows(runtime, StatisticsHeld)
    assert [row.last_contact for row in held] == ["2032-Q2"]
    assert rows(runtime, StatisticsExtract) == []
    assert events(runtime, action=AuditAction.RETENTION_EXTRACT)[-1].detail == {
        "k": 3, "held": True, "kept": 0, "suppressed": 1}


def test_no_module_outside_the_statistics_package_reads_the_extract():
    """Art. 9.5: what is kept for statistics is used for nothing else. The only other mention allowed is
    the metadata registry that lets the migrations see the tables."""
    root = Path(__file__).resolve().parents[2] / "gateway"
    allowed = {root / "models.py"}
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if "statistics" not in path.relative_to(root).parts[:1] and path not in allowed
                 and re.search(r"statistics\.models|StatisticsExtract|StatisticsHeld|statistics_extract|"
                               r"statistics_held", path.read_text(encoding="utf-8"))]
    assert offenders == []
    router = (root / "statistics" / "router.py").read_text(encoding="utf-8")
    assert "models" not in router and "StatisticsExtract" not in router


def test_no_route_but_the_controllers_reads_the_extract(runtime):
    """The decision, and the extract for the controller's field directors (tests/statistics/
    test_statistics_extract_api.py); no route about a client reads it."""
    from gateway.main import create_app

    paths = [path for path in create_app(runtime).openapi()["paths"] if "statistic" in path]
    assert sorted(paths) == ["/v1/clients/{client_id}/statistics-decision", "/v1/statistics/extract"]
