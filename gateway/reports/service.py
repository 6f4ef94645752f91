"""The monthly progress report to the coordination point (Instrument 2): aggregates, no personal data.

Counts per party (the party of the client's client manager, or ``unassigned``) and client status
(``active``, ``processing_stopped`` after a justified objection, art. 14), for one calendar month in the
covenant's time zone, from what the gateway records:

- ``in_approach``: clients registered before the month ended (and not destroyed since: the purge takes a
  client out of every later report, so a report of a past month may shrink after a purge);
- ``registered``: clients registered in the month;
- ``active``: clients with an entry written in their file in the month;
- ``intake_in_time`` / ``intake_late`` / ``intake_open``: the clients whose intake fell due in the month
  (registration day + ``[reporting] intake``), by whether their client manager's first intake-form
  entry (``intake`` kind, written by the client's client manager) was written on or before that day,
  after it or not at all by the time the report is made (late), or not yet while the day has not passed
  (open);
- ``care_plan_in_time`` / ``care_plan_late`` / ``care_plan_open``: the same for the first care-plan entry
  (``care_plan`` kind, by anyone on the team) and ``[reporting] care_plan``;
- ``requests_received``: rights requests (art. 11-14) received in the month;
- ``requests_open``: requests received by the month's last day and neither decided nor withdrawn by then;
- ``requests_late``: of those, the ones whose decision was due before the month's last day.

Every table is suppressed as :mod:`gateway.reports.suppression` describes: no cell below the covenant's
threshold is shown, nor derivable from the totals. No names, ids or pseudonyms are read into the report.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import and_, func, select

from audit import AuditAction, Outcome
from covenant import Action, Resource
from gateway.clients.models import Client
from gateway.errors import GatewayError, InvalidRequest
from gateway.parties.models import Staff
from gateway.records.models import Entry
from gateway.reports.suppression import ALL, COMPLEMENTARY, suppress
from gateway.rights.models import RightsRequest
from gateway.transaction import Actor, Transaction

ACCOUNTABILITY = "accountability"
UNASSIGNED = "unassigned"
_MONTH = re.compile(r"([1-9][0-9]{3})-(0[1-9]|1[0-2])")

METRICS: dict[str, str] = {
    "in_approach": "clients in the approach at the end of the month",
    "registered": "clients registered in the month",
    "active": "clients with an entry written in their file in the month",
    "intake_in_time": "intakes due in the month, done in time",
    "intake_late": "intakes due in the month, done late or not done",
    "intake_open": "intakes due in the month, not done, the day not passed yet",
    "care_plan_in_time": "care plans due in the month, begun in time",
    "care_plan_late": "care plans due in the month, begun late or not begun",
    "care_plan_open": "care plans due in the month, not begun, the day not passed yet",
    "requests_received": "rights requests received in the month (art. 11-14)",
    "requests_open": "rights requests open at the end of the month",
    "requests_late": "rights requests open at the end of the month past their decision's due date",
}


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` to the month's first day; 422 for anything else."""
    match = _MONTH.fullmatch(text or "")
    if not match:
        raise InvalidRequest("the month is written YYYY-MM")
    return dt.date(int(match[1]), int(match[2]), 1)


def _next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)


def monthly_report(tx: Transaction, *, month: str, purpose: str, export_format: str) -> dict[str, Any]:
    """The report of ``month`` (``YYYY-MM``), recorded as ``report.monthly`` (refusals too).

    422 for a malformed month or one that has not begun yet."""
    # A malformed month is not recorded: the trail holds codes, never free text someone typed.
    event = {"object_type": "report", "object_id": month if _MONTH.fullmatch(month or "") else None,
             "detail": {"format": export_format}}
    decision = tx.decide(Action.REPORT_READ, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.REPORT_MONTHLY, decision, purpose=purpose, **event)
        raise tx.refuse(decision)
    try:
        first = parse_month(month)
        if first > tx.today:
            raise InvalidRequest("that month has not begun yet")
    except InvalidRequest:
        tx.record(AuditAction.REPORT_MONTHLY, outcome=Outcome.DENY, reason="month_invalid", purpose=purpose,
                  authority=decision.authority, **event)
        raise
    report = _compute(tx, first)
    suppressed = sum(1 for table in report["tables"].values() for row in table.values()
                     for value in row.values() if isinstance(value, str))
    tx.record_decision(AuditAction.REPORT_MONTHLY, decision, purpose=purpose, object_type="report",
                       object_id=month, detail={"format": export_format, "suppressed": suppressed})
    return report


def monthly_report_as_administrator(runtime, *, month: str, export_format: str) -> dict[str, Any]:
    """``gateway report monthly``: the administrator makes the report (purpose ``accountability``)."""
    tx = Transaction(runtime, access_point="cli:report monthly", actor=Actor.administrator())
    try:
        report = monthly_report(tx, month=month, purpose=ACCOUNTABILITY, export_format=export_format)
    except GatewayError as exc:
        tx.abandon(exc.slug)
        raise
    tx.commit()
    return report


def _local_day(tx: Transaction, moment: dt.datetime) -> dt.date:
    return moment.astimezone(tx.runtime.settings.zone).date()


def _compute(tx: Transaction, first: dt.date) -> dict[str, Any]:
    covenant, session = tx.covenant, tx.session
    following = _next_month(first)
    last = following - dt.timedelta(days=1)
    start, end = tx.start_of(first), tx.start_of(following)
    k = covenant.suppress_below

    clients = session.execute(
        select(Client.id, Client.created_at, Client.status, Client.client_manager_id, Staff.party_id)
        .outerjoin(Staff, Staff.id == Client.client_manager_id)
        .where(Client.created_at < end)).all()
    where = {row.id: (row.party_id or UNASSIGNED, row.status) for row in clients}
    first_intake = dict(session.execute(
        select(Entry.client_id, func.min(Entry.created_at))
        .join(Client, and_(Client.id == Entry.client_id, Client.client_manager_id == Entry.created_by))
        .where(Entry.kind == "intake").group_by(Entry.client_id)).all())
    first_plan = dict(session.execute(
        select(Entry.client_id, func.min(Entry.created_at)).where(Entry.kind == "care_plan")
        .group_by(Entry.client_id)).all())
    active = set(session.scalars(select(Entry.client_id).where(Entry.created_at >= start, Entry.created_at < end)
                                 .distinct()))
    requests = session.execute(
        select(RightsRequest.client_id, RightsRequest.received_on, RightsRequest.decision_due,
               RightsRequest.decided_on, RightsRequest.withdrawn_at)
        .where(RightsRequest.received_on <= last)).all()

    counts: dict[str, dict[tuple[str, str], int]] = {metric: {} for metric in METRICS}

    def count(metric: str, client_id) -> None:
        cell = where[client_id]
        counts[metric][cell] = counts[metric].get(cell, 0) + 1

    today = tx.today
    for row in clients:
        count("in_approach", row.id)
        registered_on = _local_day(tx, row.created_at)
        if row.created_at >= start:
            count("registered", row.id)
        if row.id in active:
            count("active", row.id)
        for name, term, done in (("intake", covenant.reporting.intake, first_intake),
                                 ("care_plan", covenant.reporting.care_plan, first_plan)):
            due = term.after(registered_on)
            if not first <= due <= last:
                continue
            done_at = done.get(row.id)
            done_on = _local_day(tx, done_at) if done_at is not None else None
            if done_on is not None and done_on <= due:
                count(f"{name}_in_time", row.id)
            elif done_on is not None or today > due:
                count(f"{name}_late", row.id)
            else:
                count(f"{name}_open", row.id)
    for request in requests:
        if request.client_id not in where:
            continue
        if request.received_on >= first:
            count("requests_received", request.client_id)
        decided = request.decided_on is not None and request.decided_on <= last
        withdrawn = request.withdrawn_at is not None and request.withdrawn_at < end
        if not decided and not withdrawn:
            count("requests_open", request.client_id)
            if request.decision_due < last:
                count("requests_late", request.client_id)

    parties = sorted({party for party, _ in where.values()} | set(covenant.parties))
    statuses = sorted({status for _, status in where.values()} | {"active", "processing_stopped"})
    tables = {metric: suppress(counts[metric], parties, statuses, k).as_json(parties, statuses)
              for metric in METRICS}
    return {
        "title": "Monthly progress report to the coordination point (Instrument 2)",
        "covenant": {"id": covenant.id, "version": covenant.version, "name": covenant.name},
        "month": first.strftime("%Y-%m"),
        "period": {"from": first.isoformat(), "until": last.isoformat(), "time_zone": str(tx.runtime.settings.zone)},
        "generated_at": tx.now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "terms": {"intake": str(covenant.reporting.intake), "care_plan": str(covenant.reporting.care_plan)},
        "suppress_below": k,
        "legend": {f"<{k}": f"fewer than {k}", COMPLEMENTARY: f"withheld so that a '<{k}' cell cannot be derived "
                                                              "from the totals", ALL: "total"},
        "parties": parties,
        "statuses": statuses,
        "metrics": METRICS,
        "tables": tables,
    }


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: one table per metric, parties by status."""
    statuses = [*report["statuses"], ALL]
    lines = [f"# {report['title']}", "",
             f"Covenant: {report['covenant']['name']} (`{report['covenant']['id']}`, version "
             f"{report['covenant']['version']}). Month {report['month']} ({report['period']['from']} to "
             f"{report['period']['until']}, {report['period']['time_zone']}). Generated {report['generated_at']}.", "",
             f"Intake due {report['terms']['intake']} after registration, care plan {report['terms']['care_plan']}. "
             + "; ".join(f"`{mark}`: {text}" for mark, text in report["legend"].items()) + ".", ""]
    for metric, description in report["metrics"].items():
        table = report["tables"][metric]
        lines += [f"## {description[:1].upper()}{description[1:]} (`{metric}`)", "",
                  "| party | " + " | ".join(statuses) + " |", "| --- |" + " ---: |" * len(statuses),
                  *(f"| {party} | " + " | ".join(str(table[party][status]) for status in statuses) + " |"
                    for party in [*report["parties"], ALL]), ""]
    return "\n".join(lines)
