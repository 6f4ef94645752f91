"""Art. 9.4-9.5: the controller decides, before a client's term ends, to keep a de-identified extract;
when the client's file is destroyed, the extract is taken, checked for small groups, and kept.

The decision is the controller's (art. 7), taken by a field director of the controller's party
(:func:`covenant.decide`); it is refused (409) once the term has ended: art. 9.4 allows keeping longer
only when decided before. The extract is taken by :func:`take_extracts`, which the purge calls inside
the transaction that marks a batch for destruction: it consumes the decision, so that nothing about the client is
left but the extract row, which nothing links back to the client.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import Connection, delete, func, insert, select

from audit import AuditAction, Outcome
from covenant import Action, Resource
from gateway.care.models import CareLink
from gateway.clients.models import Client, ClientStatus
from gateway.errors import Conflict
from gateway.parties.models import Staff
from gateway.records.models import Entry
from gateway.statistics import extract
from gateway.statistics.models import StatisticsDecision, StatisticsExtract, StatisticsHeld
from gateway.transaction import Transaction

# The purge, which calls take_extracts, runs as the administrator (beheerder) for the covenant's administration.
ADMINISTRATION = "covenant_administration"


def _local_day(tx: Transaction, moment: dt.datetime) -> dt.date:
    return moment.astimezone(tx.runtime.settings.zone).date()


def term_ends_on(tx: Transaction, *, registered_at: dt.datetime, last_contact_at: dt.datetime | None) -> dt.date:
    """Art. 9.3: the day the client's term ends, in the covenant's time zone (from the last contact, or
    the registration when no contact was reported). From that day the term has ended."""
    return tx.covenant.retention.ends_on(_local_day(tx, registered_at),
                                         _local_day(tx, last_contact_at) if last_contact_at else None)


@dataclass(frozen=True, slots=True)
class DecisionView:
    id: uuid.UUID
    client_id: uuid.UUID
    term_ends_on: dt.date
    decided_at: dt.datetime
    already: bool


def decide_statistics(tx: Transaction, client_id: uuid.UUID, *, purpose: str) -> DecisionView:
    """Record the controller's decision to keep a de-identified extract of the client (art. 9.4-9.5).

    Idempotent: a client with a decision keeps it (``already``). 409 when the term has ended."""
    facts = tx.client_facts(client_id)
    decision = tx.decide(Action.STATISTICS_DECIDE, facts.resource(), purpose=purpose)
    event = {"client_pseudonym": facts.pseudonym, "object_type": "client", "object_id": str(client_id)}
    if not decision.allowed:
        tx.record_decision(AuditAction.RETENTION_DECISION, decision, purpose=purpose, **event)
        raise tx.refuse(decision)
    client = tx.session.get(Client, client_id)
    ends_on = term_ends_on(tx, registered_at=client.created_at, last_contact_at=client.last_contact_at)
    detail = {"term_ends_on": ends_on.isoformat()}
    if tx.today > ends_on:  # the term ends with that day; the purge takes the client the day after
        tx.record(AuditAction.RETENTION_DECISION, outcome=Outcome.DENY, reason="term_ended", purpose=purpose,
                  authority=decision.authority, detail=detail, **event)
        raise Conflict("the client's retention term has ended; art. 9.4 allows keeping data longer only when "
                       "decided before it ends", extra={"term_ends_on": ends_on.isoformat()})
    existing = tx.session.scalar(select(StatisticsDecision).where(StatisticsDecision.client_id == client_id))
    tx.record_decision(AuditAction.RETENTION_DECISION, decision, purpose=purpose,
                       detail={**detail, "already": existing is not None}, **event)
    if existing is not None:
        return DecisionView(existing.id, client_id, existing.term_ends_on, existing.decided_at, True)
    values = {"id": uuid.uuid4(), "client_id": client_id, "decided_by": tx.actor.staff_id, "decided_at": tx.now,
              "term_ends_on": ends_on}
    tx.write(lambda conn: conn.execute(insert(StatisticsDecision).values(**values)))
    return DecisionView(values["id"], client_id, ends_on, tx.now, False)


def _candidate(tx: Transaction, client: Client) -> extract.Row:
    counts = dict(tx.session.execute(select(Entry.category, func.count()).where(Entry.client_id == client.id)
                                     .group_by(Entry.category)).all())
    parties = tx.session.scalars(select(Staff.party_id).join(CareLink, CareLink.staff_id == Staff.id)
                                 .where(CareLink.client_id == client.id).distinct()).all()
    kinds = {tx.covenant.parties[party].kind for party in parties if party in tx.covenant.parties}
    return extract.first_row(registered_on=_local_day(tx, client.created_at),
                             last_contact_on=_local_day(tx, client.last_contact_at) if client.last_contact_at else None,
                             party_kinds=kinds, counts=counts,
                             objection=client.status == ClientStatus.PROCESSING_STOPPED)


_COLUMNS = ("level", "registered", "last_contact", "party_kinds", "entries", "entries_ordinary", "entries_special",
            "entries_criminal", "objection")


def _rows(tx: Transaction, table) -> list[tuple[uuid.UUID, extract.Row]]:
    return [(row.id, extract.Row(**{name: getattr(row, name) for name in _COLUMNS}))
            for row in tx.session.execute(select(table.id, *(getattr(table, name) for name in _COLUMNS)))]


def take_extracts(tx: Transaction, client_ids: Sequence[uuid.UUID]) -> None:
    """:func:`take_extract` for each of ``client_ids`` the controller decided on, found with one query: the
    purge calls this for every batch it destroys, nearly all of whose clients have no decision."""
    decided = dict(tx.session.execute(select(StatisticsDecision.client_id, StatisticsDecision.id)
                                      .where(StatisticsDecision.client_id.in_(client_ids))).all())
    for client_id in client_ids:
        if client_id in decided:
            _extract(tx, client_id, decided[client_id])


def take_extract(tx: Transaction, client_id: uuid.UUID) -> None:
    """Called by the purge inside the client's destruction transaction, before its rows go: when the
    controller decided to keep statistics, de-identify the client (:mod:`gateway.statistics.extract`),
    hold the row, keep every held row whose group now reaches ``[retention] statistics_k`` (generalised
    as far as that needs), suppress the held rows whose group can no longer grow, and consume the
    decision. Records ``retention.extract`` with the pseudonym and counts only: the row's id is not
    named, so the trail does not link the client to its row. Without a decision it does nothing.

    Rows held or kept earlier in the same unit of work are not seen until it commits: the purge
    commits each batch on its own."""
    take_extracts(tx, [client_id])


def _extract(tx: Transaction, client_id: uuid.UUID, decision_id: uuid.UUID) -> None:
    client = tx.session.get(Client, client_id)
    k = tx.covenant.retention.statistics_k
    candidate = _candidate(tx, client)
    kept = [row for _, row in _rows(tx, StatisticsExtract)]
    held = _rows(tx, StatisticsHeld)
    open_, suppressed = [], []
    for row_id, row in held:
        (suppressed if extract.closed(row, tx.today, tx.covenant.retention.after_last_contact) else open_).append(
            (row_id, row))
    new_id = uuid.uuid4()
    waiting = open_ + [(new_id, candidate)]
    released = extract.release([row for _, row in waiting], kept, k)
    released_ids = {waiting[index][0] for index, _ in released}
    tx.record(AuditAction.RETENTION_EXTRACT, outcome=Outcome.PERMIT, reason="permitted", purpose=ADMINISTRATION,
              authority="statistics_decision:" + str(decision_id), client_pseudonym=client.pseudonym,
              object_type="statistics_extract",
              detail={"k": k, "held": new_id not in released_ids, "kept": len(released),
                      "suppressed": len(suppressed)})
    gone = [row_id for row_id, _ in suppressed] + [row_id for row_id in released_ids if row_id != new_id]

    def keep(conn) -> None:
        if new_id not in released_ids:
            conn.execute(insert(StatisticsHeld).values(id=new_id, **_values(candidate)))
        if gone:
            conn.execute(delete(StatisticsHeld).where(StatisticsHeld.id.in_(gone)))
        if released:
            conn.execute(insert(StatisticsExtract), [{"id": uuid.uuid4(), **_values(row)} for _, row in released])
        conn.execute(delete(StatisticsDecision).where(StatisticsDecision.id == decision_id))

    tx.write(keep)


def _values(row: extract.Row) -> dict:
    return {name: getattr(row, name) for name in _COLUMNS}


def forget_decisions(conn: Connection, client_ids: list[uuid.UUID]) -> None:
    """The purge's last step: a decision no extract consumed (the client was purged before it was taken,
    or it was recorded after the batch was marked) names the client, so it goes with the client."""
    conn.execute(delete(StatisticsDecision).where(StatisticsDecision.client_id.in_(client_ids)))


STATISTICS = "statistics"


def read_extract(tx: Transaction, *, purpose: str, export_format: str) -> dict:
    """The de-identified extract (art. 9.4-9.5) for the controller's statistics: every row kept, each
    standing for a group of at least ``[retention] statistics_k`` clients (generalised to ``level``), in a
    fixed order that says nothing about when a row was kept. The held rows, whose groups have not reached
    k, are not part of it. The controller's field directors (``statistics.read``, purpose ``statistics``);
    recorded as ``statistics.export`` with the format and the number of rows, refusals too."""
    event = {"object_type": "statistics_extract", "detail": {"format": export_format}}
    decision = tx.decide(Action.STATISTICS_READ, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.STATISTICS_EXPORT, decision, purpose=purpose, **event)
        raise tx.refuse(decision)
    rows = sorted((_values(row) for _, row in _rows(tx, StatisticsExtract)),
                  key=lambda values: tuple(str(values[name]) for name in _COLUMNS))
    tx.record_decision(AuditAction.STATISTICS_EXPORT, decision, purpose=purpose, object_type="statistics_extract",
                       detail={"format": export_format, "rows": len(rows)})
    covenant = tx.covenant
    return {
        "covenant": {"id": covenant.id, "version": covenant.version, "name": covenant.name},
        "generated_at": tx.now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "k": covenant.retention.statistics_k,
        "columns": list(_COLUMNS),
        "rows": rows,
    }


def extract_to_csv(extract_document: dict) -> str:
    """The extract's rows as CSV (a header of the columns, ``true``/``false`` for ``objection``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(extract_document["columns"])
    for row in extract_document["rows"]:
        writer.writerow([str(row[name]).lower() if isinstance(row[name], bool) else row[name]
                         for name in extract_document["columns"]])
    return out.getvalue()
