"""Reminders before a request's deadline and escalation after it: once each, by e-mail and as notices.

Real parts throughout: both engines, a controlled clock, a loopback SMTP server (aiosmtpd), and for
the race two ``gateway deadlines`` processes against one PostgreSQL schema.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from audit import AuditAction, Outcome, UnitOfWork
from gateway.errors import NotFound
from gateway.jobs.service import DONE, IDLE, run_job
from gateway.parties.models import Staff
from gateway.rights import deadlines
from gateway.rights import service as rights_service
from gateway.rights.jobs import DEADLINES, deadlines_job
from gateway.rights.models import DeadlineNotice, Notice, RightsRequest
from gateway.transaction import Actor, Transaction
from tests.gateway.helpers import act, events

GATEWAY = [sys.executable, "-m", "gateway.cli"]
SECRET = "STATEMENT-7f3a: I was in hospital in October, not refusing help."
MANAGER_MAIL, OFFICER_MAIL = "manager@example.test", "privacy@example.test"


class Inbox:
    """An SMTP handler that keeps what it is sent."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list:
        return [message for recipients, message in self.messages if address in recipients]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Smtp:
    """A loopback SMTP server that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = Smtp()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings, smtp):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "reminder_days": "3,1"})


@pytest.fixture
def cast(runtime, demo):
    """The demo cast, with e-mail addresses for the client manager and the privacy officer."""
    def addresses(conn):
        conn.execute(update(Staff).where(Staff.id == uuid.UUID(demo.staff["client_manager"])).values(email=MANAGER_MAIL))
        conn.execute(update(Staff).where(Staff.id == uuid.UUID(demo.staff["privacy_officer"])).values(email=OFFICER_MAIL))

    write(runtime, addresses)
    return demo


def write(runtime, change) -> None:
    """A change of the test's own, through the gateway's one writer (the read engine is read-only)."""
    runtime.committer.commit(UnitOfWork(events=[], apply=change))


def at(clock, day: dt.date) -> None:
    clock.set(dt.datetime.combine(day, dt.time(7, 0), dt.UTC))


def record(runtime, cast, kind: str = "objection", received: dt.date | None = None) -> uuid.UUID:
    client_id = uuid.UUID(cast.clients[0])
    return act(runtime, cast.staff["client_manager"], lambda tx: rights_service.record_request(
        tx, client_id, purpose="subject_rights", kind=kind, received_at=received, statement=SECRET)).id


def step(runtime, cast, request_id, name: str, **kwargs) -> None:
    client_id = uuid.UUID(cast.clients[0])
    function = getattr(rights_service, name)
    act(runtime, cast.staff["client_manager"],
        lambda tx: function(tx, client_id, request_id, purpose="subject_rights", **kwargs))


def run(runtime, day: dt.date):
    result = run_job(runtime, deadlines_job(day), manual=True)
    assert result.outcome in (DONE, IDLE), result
    return result


def sent(runtime) -> list[DeadlineNotice]:
    with runtime.session() as session:
        return list(session.scalars(select(DeadlineNotice).order_by(DeadlineNotice.created_at, DeadlineNotice.days)))


def notices(runtime) -> list[Notice]:
    with runtime.session() as session:
        return list(session.scalars(select(Notice)))


def due_of(runtime, request_id) -> dt.date:
    with runtime.session() as session:
        return session.get(RightsRequest, request_id).decision_due


def days(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


# --- reminders --------------------------------------------------------------------------------------

def test_reminders_go_out_three_and_one_days_before_and_not_two(runtime, cast, clock, smtp):
    request_id = record(runtime, cast)  # an objection received Monday 23 November: due Monday 21 December
    due = due_of(runtime, request_id)
    assert due == dt.date(2026, 12, 21)
    counts = {}
    for day in days(dt.date(2026, 11, 23), due):
        at(clock, day)
        counts[day] = run(runtime, day).counts
    reminded = {day: count["reminded"] for day, count in counts.items() if count.get("reminded")}
    assert reminded == {dt.date(2026, 12, 18): 1, dt.date(2026, 12, 20): 1}
    assert [(row.kind, row.days, row.deadline, row.due_on) for row in sent(runtime)] == [
        ("reminder", 3, "decision", due), ("reminder", 1, "decision", due)]
    # Each to the client manager, listed and mailed, and nothing to the privacy officer yet.
    assert {row.staff_id for row in notices(runtime)} == {uuid.UUID(cast.staff["client_manager"])}
    assert all(row.mailed_at is not None for row in notices(runtime))
    assert len(smtp.inbox.to(MANAGER_MAIL)) == 2 and not smtp.inbox.to(OFFICER_MAIL)
    recorded = events(runtime, action=AuditAction.REQUEST_REMINDED.value)
    assert len(recorded) == 2
    assert all(event.object_id == str(request_id) and event.client_pseudonym and event.outcome == Outcome.PERMIT
               and event.authority == "role:administrator" for event in recorded)
    assert [event.detail["days"] for event in recorded] == [3, 1]
    assert recorded[0].detail["due_on"] == "2026-12-21" and SECRET not in str(recorded[0].detail)


def test_a_deadline_moved_by_the_algemene_termijnenwet_is_reminded_by_the_moved_date(runtime, cast, clock, smtp):
    # Received 25 November, an access request's month ends on Christmas Day; Boxing Day is a Saturday:
    # the term runs to Monday 28 December (Algemene termijnenwet, as the demo covenant adopts it).
    at(clock, dt.date(2026, 11, 25))
    request_id = record(runtime, cast, "access")
    assert due_of(runtime, request_id) == dt.date(2026, 12, 28)
    for day in days(dt.date(2026, 12, 20), dt.date(2026, 12, 28)):
        at(clock, day)
        run(runtime, day)
    assert [(row.days, row.created_at.date()) for row in sent(runtime)] == [
        (3, dt.date(2026, 12, 25)), (1, dt.date(2026, 12, 27))]


def test_a_missed_pass_catches_up_with_the_reminder_still_due(runtime, cast, clock):
    request_id = record(runtime, cast)
    at(clock, dt.date(2026, 12, 19))  # the pass did not run on the 18th: two days left
    assert run(runtime, dt.date(2026, 12, 19)).counts["reminded"] == 1
    assert [row.days for row in sent(runtime)] == [3]
    assert due_of(runtime, request_id) == dt.date(2026, 12, 21)


def test_a_rerun_the_same_day_sends_nothing_new_and_the_cli_contract_uses_the_given_day(runtime, cast, clock, smtp):
    record(runtime, cast)
    first = run(runtime, dt.date(2026, 12, 18))  # the clock still says 23 November: --today decides
    again = run(runtime, dt.date(2026, 12, 18))
    assert first.counts["reminded"] == 1 and again.outcome == IDLE and not any(again.counts.values())
    assert len(sent(runtime)) == 1 and len(smtp.inbox.messages) == 1
    assert len(events(runtime, action=AuditAction.REQUEST_REMINDED.value)) == 1


# --- escalation -------------------------------------------------------------------------------------

def test_escalation_the_day_after_the_deadline_once_to_the_privacy_officer_and_the_manager(runtime, cast, clock, smtp):
    request_id = record(runtime, cast)
    due = due_of(runtime, request_id)
    for day in days(due, due + dt.timedelta(days=3)):
        at(clock, day)
        run(runtime, day)
    escalations = [row for row in sent(runtime) if row.kind == "escalation"]
    assert [(row.due_on, row.created_at.date()) for row in escalations] == [(due, due + dt.timedelta(days=1))]
    with runtime.session() as session:
        recipients = set(session.scalars(select(Notice.staff_id).where(Notice.deadline_notice_id == escalations[0].id)))
    assert recipients == {uuid.UUID(cast.staff["client_manager"]), uuid.UUID(cast.staff["privacy_officer"])}
    assert len(smtp.inbox.to(OFFICER_MAIL)) == 1
    [event] = events(runtime, action=AuditAction.REQUEST_ESCALATED.value)
    assert event.object_id == str(request_id) and event.detail["recipients"] == 2


def test_a_request_decided_in_time_is_not_escalated(runtime, cast, clock):
    request_id = record(runtime, cast)
    at(clock, dt.date(2026, 12, 18))
    step(runtime, cast, request_id, "review_request")
    step(runtime, cast, request_id, "decide_request", outcome="unjustified", reasons="Not borne out.")
    for day in days(dt.date(2026, 12, 18), dt.date(2026, 12, 30)):
        at(clock, day)
        run(runtime, day)
    assert [row.kind for row in sent(runtime)] == []  # decided on the day of the first reminder, before the pass


def test_a_granted_corrections_execution_deadline_is_reminded_and_escalated(runtime, cast, clock):
    client_id = uuid.UUID(cast.clients[0])
    entry_id = act(runtime, cast.staff["client_manager"], lambda tx: rights_service.records_service.list_entries(
        tx, client_id, purpose="housing")).items[0].id
    request_id = act(runtime, cast.staff["client_manager"], lambda tx: rights_service.record_request(
        tx, client_id, purpose="subject_rights", kind="correction", entry_id=entry_id, correction="shield",
        statement=SECRET)).id
    step(runtime, cast, request_id, "review_request")
    step(runtime, cast, request_id, "decide_request", outcome="granted", reasons="Agreed.")
    with runtime.session() as session:
        execution = session.get(RightsRequest, request_id).execution_due
    for day in days(execution - dt.timedelta(days=3), execution + dt.timedelta(days=1)):
        at(clock, day)
        run(runtime, day)
    assert [(row.deadline, row.kind, row.days) for row in sent(runtime)] == [
        ("execution", "reminder", 3), ("execution", "reminder", 1), ("execution", "escalation", 0)]


@pytest.mark.parametrize("ending", ["withdraw_request", "close_request"])
def test_withdrawn_and_closed_requests_get_nothing(runtime, cast, clock, ending):
    request_id = record(runtime, cast)
    if ending == "close_request":
        step(runtime, cast, request_id, "review_request")
        step(runtime, cast, request_id, "decide_request", outcome="unjustified", reasons="Not borne out.")
    step(runtime, cast, request_id, ending)
    for day in (dt.date(2026, 12, 18), dt.date(2026, 12, 20), dt.date(2026, 12, 22)):
        at(clock, day)
        run(runtime, day)
    assert sent(runtime) == [] and notices(runtime) == []


# --- once, whatever happens -------------------------------------------------------------------------

def test_the_unique_key_refuses_a_notice_planned_twice(runtime, cast, clock):
    """Two passes that planned the same notice (say, one outside the lease): it is sent once, and the
    loser's attempt is on record as not carried out."""
    record(runtime, cast)
    day = dt.date(2026, 12, 18)

    def planning():
        tx = Transaction(runtime, access_point="test", actor=Actor.administrator("test"))
        planned = deadlines.plan(tx, day)
        tx.end_reads()
        return tx, planned

    (first, [notice]), (second, [same]) = planning(), planning()
    decision = first.decide(deadlines.Action.JOB_RUN, deadlines.Resource(), purpose=deadlines.ADMINISTRATION)
    assert deadlines._send(first, notice, decision) is True
    assert deadlines._send(second, same, decision) is False
    assert len(sent(runtime)) == 1 and len(notices(runtime)) == 1
    outcomes = [event.outcome for event in events(runtime, action=AuditAction.REQUEST_REMINDED.value)]
    assert outcomes == [Outcome.PERMIT, Outcome.ERROR]


def test_smtp_down_keeps_the_notice_logs_the_failure_and_mails_on_the_next_pass(runtime, cast, clock, smtp, capsys):
    record(runtime, cast)
    smtp.stop()
    at(clock, dt.date(2026, 12, 18))
    down = run(runtime, dt.date(2026, 12, 18))
    assert down.outcome == DONE and down.counts["reminded"] == 1 and down.counts["mail_failed"] == 1
    [row] = notices(runtime)
    assert row.mailed_at is None and row.mail_attempts == 1
    logged = capsys.readouterr()
    assert "notice_mail_failed" in logged.out + logged.err and MANAGER_MAIL not in logged.out + logged.err
    smtp.start()
    at(clock, dt.date(2026, 12, 19))
    up = run(runtime, dt.date(2026, 12, 19))
    assert up.counts.get("reminded", 0) == 0 and up.counts["mailed"] == 1
    [row] = notices(runtime)
    assert row.mailed_at is not None and row.mail_attempts == 2
    assert len(smtp.inbox.to(MANAGER_MAIL)) == 1 and len(sent(runtime)) == 1


def test_the_mail_has_the_recipient_the_link_and_no_personal_data(runtime, cast, clock, smtp, settings):
    request_id = record(runtime, cast)
    run(runtime, dt.date(2026, 12, 18))
    [(recipients, message)] = smtp.inbox.messages
    assert recipients == [MANAGER_MAIL] and message["To"] == MANAGER_MAIL
    body = message.get_content()
    with runtime.session() as session:
        from gateway.clients.models import Client

        client = session.get(Client, uuid.UUID(cast.clients[0]))
    assert client.pseudonym in message["Subject"] and "2026-12-21" in message["Subject"]
    assert f"{settings.public_url}/ui/requests" in body and "objection" in body
    assert SECRET not in body and "hospital" not in body and str(request_id) not in body
    assert str(client.id) not in body


def test_without_an_smtp_host_notices_are_recorded_and_nothing_is_mailed(runtime, cast, clock, smtp):
    runtime.settings = runtime.settings.model_copy(update={"smtp_host": None})
    record(runtime, cast)
    result = run(runtime, dt.date(2026, 12, 18))
    assert result.counts == {"reminded": 1, "escalated": 0, "retention_noticed": 0, "already_sent": 0}
    assert len(notices(runtime)) == 1 and smtp.inbox.messages == []


# --- notices in the web UI --------------------------------------------------------------------------

def test_open_notices_lists_the_staff_members_own_and_dismissal_hides_it(runtime, cast, clock):
    record(runtime, cast)
    run(runtime, dt.date(2026, 12, 22))  # an escalation: to the manager and the privacy officer
    manager, officer = cast.staff["client_manager"], cast.staff["privacy_officer"]
    [mine] = act(runtime, manager, lambda tx: deadlines.open_notices(tx, purpose="subject_rights"))
    [theirs] = act(runtime, officer, lambda tx: deadlines.open_notices(tx, purpose="subject_rights"))
    assert mine.kind == theirs.kind == "escalation" and mine.id != theirs.id and mine.request_kind == "objection"
    with pytest.raises(NotFound):
        act(runtime, manager, lambda tx: deadlines.dismiss_notice(tx, theirs.id, purpose="subject_rights"))
    act(runtime, manager, lambda tx: deadlines.dismiss_notice(tx, mine.id, purpose="subject_rights"))
    act(runtime, manager, lambda tx: deadlines.dismiss_notice(tx, mine.id, purpose="subject_rights"))  # idempotent
    assert act(runtime, manager, lambda tx: deadlines.open_notices(tx, purpose="subject_rights")) == []
    assert len(act(runtime, officer, lambda tx: deadlines.open_notices(tx, purpose="subject_rights"))) == 1
    dismissals = events(runtime, action=AuditAction.NOTICE_DISMISS.value)
    assert [event.outcome for event in dismissals] == [Outcome.DENY, Outcome.PERMIT, Outcome.PERMIT]
    assert events(runtime, action=AuditAction.NOTICE_LIST.value)[-1].detail == {"returned": 1}


def test_a_staff_member_without_the_purpose_is_refused_notices_on_record(runtime, cast):
    from gateway.errors import GatewayError

    with pytest.raises(GatewayError):
        act(runtime, cast.staff["ggz_worker"], lambda tx: deadlines.open_notices(tx, purpose="subject_rights"))
    assert events(runtime, action=AuditAction.NOTICE_LIST.value)[-1].outcome == Outcome.DENY


def test_the_job_is_registered_daily_under_its_lease():
    from gateway.jobs.registry import get_job

    assert get_job("request.deadlines") is DEADLINES and DEADLINES.schedule == "cron 0 7 * * *"


# --- two processes ----------------------------------------------------------------------------------

def test_two_gateway_deadlines_processes_at_once_send_each_notice_once(runtime, cast, clock, smtp, databases,
                                                                       engine_name, tmp_path):
    if engine_name != "postgresql":
        pytest.skip("the race across processes is a PostgreSQL matter (several instances share it)")
    reminded, escalated = record(runtime, cast), record(runtime, cast, "access")
    # The access request is overdue on the day the objection is reminded.
    write(runtime, lambda conn: conn.execute(update(RightsRequest).where(RightsRequest.id == escalated)
                                             .values(decision_due=dt.date(2026, 12, 17))))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_HOME=str(tmp_path), GATEWAY_DATABASE_URL=databases.data_url,
               GATEWAY_KEYSTORE_URL=databases.keystore_url, GATEWAY_KEYS_DIR=str(tmp_path / "keys"),
               GATEWAY_LOG_FORMAT="json", GATEWAY_SCHEDULER="false", GATEWAY_SMTP_HOST="127.0.0.1",
               GATEWAY_SMTP_PORT=str(smtp.port), GATEWAY_REMINDER_DAYS="3,1")
    cwd = Path(__file__).resolve().parents[2]
    racers = [subprocess.Popen([*GATEWAY, "deadlines", "--today", "2026-12-18"], env=env, cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(racer.wait(timeout=120), racer.stdout.read(), racer.stderr.read()) for racer in racers]
    assert sorted(code for code, _, _ in results) in ([0, 0], [0, 1]), results
    with runtime.session() as session:
        rows = session.execute(select(DeadlineNotice.request_id, DeadlineNotice.kind)).all()
        recipients = session.scalar(select(func.count()).select_from(Notice))
    assert sorted(rows, key=str) == sorted([(reminded, "reminder"), (escalated, "escalation")], key=str)
    assert recipients == 3  # the manager (reminder); the manager and the privacy officer (escalation)
    assert len(smtp.inbox.to(MANAGER_MAIL)) == 2 and len(smtp.inbox.to(OFFICER_MAIL)) == 1
    assert len(smtp.inbox.messages) == 3
    assert len(events(runtime, action=AuditAction.REQUEST_REMINDED.value)) == 1
    assert len(events(runtime, action=AuditAction.REQUEST_ESCALATED.value)) == 1
    again = subprocess.run([*GATEWAY, "deadlines", "--today", "2026-12-18"], env=env, cwd=cwd, text=True,
                           capture_output=True, timeout=120)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    assert len(smtp.inbox.messages) == 3


def test_reminder_days_are_validated_and_kept_most_distant_first():
    from pydantic import ValidationError

    from gateway.config import Settings

    assert Settings(_env_file=None, reminder_days="1, 3,3").reminders == (3, 1)
    for bad in ("3,x", "0", "61"):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, reminder_days=bad)


def test_gateway_deadlines_refuses_a_malformed_day(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_HOME=str(tmp_path))
    result = subprocess.run([*GATEWAY, "deadlines", "--today", "18-12-2026"], env=env, cwd=tmp_path, text=True,
                            capture_output=True, timeout=120)
    assert result.returncode == 2 and "--today is not a date" in result.stderr
