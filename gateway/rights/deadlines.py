"""Reminders before a rights request's deadline, escalation when it has passed (art. 13-14).

One pass (``gateway deadlines`` or the daily ``request.deadlines`` job, both under the job's lease)
looks at every open request's next deadline (:func:`gateway.rights.service._due`: the decision's, or a
granted correction's execution) as of a day in the covenant's time zone and sends:

* a **reminder** to the client's client manager ``N`` days before it, for each ``N`` in
  ``GATEWAY_REMINDER_DAYS``. A pass that did not run on the day itself catches up: the reminder due is
  the one for the smallest ``N`` not below the days left, so with ``3,1`` a pass two days before
  sends nothing when the three-day reminder went out the day before, and the three-day reminder
  when it did not;
* an **escalation** once the deadline has passed and the step is still to do: to the privacy
  officers of the covenant's controller (art. 7) and the client manager. One per deadline.

Once means once: each notice is a ``deadline_notice`` row with a unique key (request, deadline, due
date, kind, days), inserted in the same transaction as its ``request.reminded`` / ``request.escalated``
event. Passes run under the job's lease, so two never plan at once; were one to run outside it (a
lease that expired under a slow pass), the key refuses the second insert and that unit's event is
recorded as an error (``write_failed``): the trail then says an attempt was not carried out, and no
mail goes out for it.

The same pass tells of retention terms ending (art. 9.3-9.5): ``GATEWAY_RETENTION_NOTICE_DAYS`` (30)
days before a client's term ends (its last contact, or its registration when none was reported, plus
``[retention] after_last_contact``), a **retention reminder** goes to the client's client manager and to
the field directors of the covenant's controller: they carry out the controller's duties (art. 7) and are
the ones who may decide, before the term ends, to keep a de-identified extract for statistics
(:mod:`gateway.statistics`), so the notice reaches those who can act on it. (The privacy officers get the
escalations of missed request deadlines; the end of a term is no missed step, the purge carries it out.)
It is a ``deadline_notice`` of deadline ``retention`` with no request, once per client and term end
(``retention.noticed``): a later contact moves the term end, and the new date gets its own notice. A pass
that did not run on the day catches up while the term has not ended.

Each recipient gets a ``notice`` row, which the web UI lists until dismissed (:func:`open_notices`,
:func:`dismiss_notice`), and, when ``GATEWAY_SMTP_HOST`` is set and the staff member has an address,
an e-mail. Mail goes out only after the notice is durable, and ``mailed_at`` is set only once the SMTP
server has accepted it; a server that is down leaves it empty, the failure is logged (by the error's
type, never an address), and the next pass tries again. (A crash between the server's acceptance and
the ``mailed_at`` commit sends that one mail twice: at least once, not exactly once, for the mail
itself; the notice and its event stay exactly once.) The e-mail carries no client data: the
client's pseudonym, the kind of request, the deadline, and a link to the web UI.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from audit import AuditAction, Outcome as AuditOutcome
from covenant import Action, Decision, Resource, Role
from gateway.clients.models import Client
from gateway.errors import NotFound
from gateway.parties.models import Staff
from gateway.rights.models import Deadline, DeadlineNotice, Notice, NoticeKind, RightsRequest, Status
from gateway.statistics.service import term_ends_on
from gateway.transaction import Transaction

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.runtime import Runtime

log = structlog.get_logger(__name__)

ADMINISTRATION = "covenant_administration"
OPEN = (Status.RECEIVED, Status.IN_REVIEW, Status.DECIDED)
_AUDIT = {NoticeKind.REMINDER: AuditAction.REQUEST_REMINDED, NoticeKind.ESCALATION: AuditAction.REQUEST_ESCALATED}
_COUNTS = {NoticeKind.REMINDER: "reminded", NoticeKind.ESCALATION: "escalated"}


@dataclass(frozen=True, slots=True)
class Planned:
    """A notice the pass has found due: about which request (none for a retention term), deadline and
    day, and to whom."""

    request_id: uuid.UUID | None
    client_id: uuid.UUID
    pseudonym: str
    request_kind: str | None
    deadline: Deadline
    due_on: dt.date
    kind: NoticeKind
    days: int
    recipients: tuple[uuid.UUID, ...]

    @property
    def key(self) -> tuple:
        about = self.client_id if self.request_id is None else self.request_id
        return (about, self.deadline.value, self.due_on, self.kind.value, self.days)

    @property
    def audit_action(self) -> AuditAction:
        return AuditAction.RETENTION_NOTICED if self.deadline is Deadline.RETENTION else _AUDIT[self.kind]

    @property
    def count(self) -> str:
        return "retention_noticed" if self.deadline is Deadline.RETENTION else _COUNTS[self.kind]


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A notice as the web UI lists it: ids, codes and dates, and the client's pseudonym."""

    id: uuid.UUID
    kind: str
    request_id: uuid.UUID | None
    client_id: uuid.UUID
    client_pseudonym: str
    request_kind: str | None
    deadline: str
    due_on: dt.date
    days: int
    created_at: dt.datetime
    dismissed_at: dt.datetime | None


# --- planning ---------------------------------------------------------------------------------------

def next_deadline(row: RightsRequest) -> tuple[Deadline, dt.date] | None:
    """The deadline an open request runs to now: its decision's, or a granted correction's execution."""
    if row.status in (Status.RECEIVED, Status.IN_REVIEW):
        return Deadline.DECISION, row.decision_due
    if row.status == Status.DECIDED and row.execution_due is not None:
        return Deadline.EXECUTION, row.execution_due
    return None


def notice_due(due_on: dt.date, today: dt.date, reminder_days: tuple[int, ...]) -> tuple[NoticeKind, int] | None:
    """Which notice a deadline calls for today: an escalation once it has passed, else the reminder
    for the smallest configured day count not below the days left (None when none is)."""
    left = (due_on - today).days
    if left < 0:
        return NoticeKind.ESCALATION, 0
    candidates = [days for days in reminder_days if days >= left]
    return (NoticeKind.REMINDER, min(candidates)) if candidates else None


def _controller_staff(tx: Transaction, role: Role) -> tuple[uuid.UUID, ...]:
    """The controller's active staff in ``role`` (art. 7: the controller answers for the client's rights
    and the retention of the file)."""
    rows = tx.session.execute(select(Staff.id, Staff.roles).where(Staff.party_id == tx.covenant.controller,
                                                                  Staff.active.is_(True))).all()
    return tuple(sorted((staff_id for staff_id, roles in rows if role.value in (roles or [])), key=str))


def _privacy_officers(tx: Transaction) -> tuple[uuid.UUID, ...]:
    """The controller's privacy officers, who get the escalations."""
    return _controller_staff(tx, Role.PRIVACY_OFFICER)


def plan(tx: Transaction, today: dt.date) -> list[Planned]:
    """Every notice due on ``today`` and not yet sent, soonest deadline first."""
    settings = tx.runtime.settings
    rows = tx.session.execute(
        select(RightsRequest, Client.pseudonym, Client.client_manager_id)
        .join(Client, Client.id == RightsRequest.client_id)
        .where(RightsRequest.status.in_([status.value for status in OPEN]))).all()
    sent = {(row.request_id, row.deadline, row.due_on, row.kind, row.days)
            for row in tx.session.scalars(select(DeadlineNotice).where(
                DeadlineNotice.request_id.in_([request.id for request, _, _ in rows])))} if rows else set()
    active = set(tx.session.scalars(select(Staff.id).where(Staff.active.is_(True))))
    officers: tuple[uuid.UUID, ...] | None = None
    planned = []
    for request, pseudonym, manager in rows:
        deadline = next_deadline(request)
        if deadline is None:
            continue
        which, due_on = deadline
        due = notice_due(due_on, today, settings.reminders)
        if due is None:
            continue
        kind, days = due
        recipients: tuple[uuid.UUID, ...] = (manager,) if manager in active else ()
        if kind is NoticeKind.ESCALATION:
            officers = _privacy_officers(tx) if officers is None else officers
            recipients = tuple(dict.fromkeys(officers + recipients))
        notice = Planned(request_id=request.id, client_id=request.client_id, pseudonym=pseudonym,
                         request_kind=request.kind, deadline=which, due_on=due_on, kind=kind, days=days,
                         recipients=recipients)
        if notice.key not in sent:
            planned.append(notice)
    planned.sort(key=lambda notice: (notice.due_on, str(notice.request_id)))
    return planned


def plan_retention(tx: Transaction, today: dt.date) -> list[Planned]:
    """Every retention notice due on ``today`` and not yet sent: for each client whose term ends within
    ``GATEWAY_RETENTION_NOTICE_DAYS`` and has not ended, soonest term end first."""
    days = tx.runtime.settings.retention_notice_days
    rows = tx.session.execute(select(Client.id, Client.pseudonym, Client.client_manager_id, Client.created_at,
                                     Client.last_contact_at)).all()
    sent = {(row.client_id, row.due_on, row.kind, row.days) for row in tx.session.execute(
        select(DeadlineNotice.client_id, DeadlineNotice.due_on, DeadlineNotice.kind, DeadlineNotice.days)
        .where(DeadlineNotice.request_id.is_(None), DeadlineNotice.deadline == Deadline.RETENTION.value))}
    active = set(tx.session.scalars(select(Staff.id).where(Staff.active.is_(True))))
    directors: tuple[uuid.UUID, ...] | None = None
    planned = []
    for client_id, pseudonym, manager, registered_at, last_contact_at in rows:
        ends_on = term_ends_on(tx, registered_at=registered_at, last_contact_at=last_contact_at)
        if not 0 < (ends_on - today).days <= days:
            continue
        if (client_id, ends_on, NoticeKind.REMINDER.value, days) in sent:
            continue
        directors = _controller_staff(tx, Role.FIELD_DIRECTOR) if directors is None else directors
        recipients = tuple(dict.fromkeys(((manager,) if manager in active else ()) + directors))
        planned.append(Planned(request_id=None, client_id=client_id, pseudonym=pseudonym, request_kind=None,
                               deadline=Deadline.RETENTION, due_on=ends_on, kind=NoticeKind.REMINDER, days=days,
                               recipients=recipients))
    planned.sort(key=lambda notice: (notice.due_on, str(notice.client_id)))
    return planned


# --- the pass ---------------------------------------------------------------------------------------

def _send(tx: Transaction, notice: Planned, decision: Decision) -> bool:
    """Record and insert one notice in one transaction; False when it had been sent meanwhile."""
    notice_id, now = uuid.uuid4(), tx.now
    about = {"object_type": "client", "object_id": str(notice.client_id)} if notice.request_id is None else {
        "object_type": "rights_request", "object_id": str(notice.request_id)}
    detail = {"deadline": notice.deadline.value, "due_on": notice.due_on.isoformat(), "days": notice.days,
              "notice": str(notice_id), "recipients": len(notice.recipients)}
    if notice.request_kind is not None:
        detail = {"kind": notice.request_kind, **detail}
    tx.record(notice.audit_action, outcome=AuditOutcome.PERMIT, reason=decision.reason.value, purpose=ADMINISTRATION,
              authority=decision.authority, client_pseudonym=notice.pseudonym, detail=detail, **about)
    rows = [{"id": uuid.uuid4(), "deadline_notice_id": notice_id, "staff_id": staff_id, "created_at": now,
             "mailed_at": None, "mail_attempts": 0, "dismissed_at": None} for staff_id in notice.recipients]

    def insert_notice(conn) -> None:
        conn.execute(insert(DeadlineNotice).values(
            id=notice_id, request_id=notice.request_id, client_id=notice.client_id, deadline=notice.deadline.value,
            due_on=notice.due_on, kind=notice.kind.value, days=notice.days, created_at=now))
        if rows:
            conn.execute(insert(Notice), rows)

    tx.write(insert_notice)
    try:
        tx.commit()
    except IntegrityError:
        log.warning("deadline_notice_already_sent", request_id=str(notice.request_id), client_id=str(notice.client_id),
                    deadline=notice.deadline.value, kind=notice.kind.value)
        return False
    return True


def run_pass(runtime: "Runtime", tx: Transaction, *, today: dt.date | None = None) -> dict[str, int]:
    """One reminder and escalation pass as of ``today`` (the covenant's date now unless given), run
    by the job runner (which has decided and will record ``job.run``) with the runner's unit of work.

    Commits each notice with its event as it goes, then mails what is unmailed. Returns counts."""
    decision = tx.decide(Action.JOB_RUN, Resource(), purpose=ADMINISTRATION)
    if not decision.allowed:  # the runner decided the same a moment ago; fail closed all the same
        raise tx.refuse(decision)
    day = today or tx.today
    counts = {"reminded": 0, "escalated": 0, "retention_noticed": 0, "already_sent": 0}
    planned = plan(tx, day) + plan_retention(tx, day)
    tx.commit()  # what the unit holds so far goes first; each notice then commits on its own
    for notice in planned:
        if _send(tx, notice, decision):
            counts[notice.count] += 1
        else:
            counts["already_sent"] += 1
    counts.update(deliver(runtime, tx))
    return counts


# --- e-mail -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Mail:
    notice_id: uuid.UUID
    address: str
    kind: str
    pseudonym: str
    request_kind: str | None
    deadline: str
    due_on: dt.date


def message(settings: "Settings", mail: _Mail) -> EmailMessage:
    """The e-mail for one notice: no client data beyond the pseudonym, the kind and the date."""
    if mail.deadline == Deadline.RETENTION:
        return _message(settings, mail.address,
                        f"Retention term of client {mail.pseudonym} ends on {mail.due_on.isoformat()}",
                        f"The retention term of client {mail.pseudonym} ends on {mail.due_on.isoformat()} "
                        "(art. 9.3): from then on the client's file is destroyed, unless a later contact is "
                        "reported. Before that day, the controller may decide to keep a de-identified extract "
                        "for statistics (art. 9.4-9.5).", "/ui")
    label = {"access": "access", "correction": "correction", "objection": "objection"}.get(mail.request_kind, "rights")
    step = "decision" if mail.deadline == Deadline.DECISION else "carrying out"
    if mail.kind == NoticeKind.ESCALATION:
        subject = f"Deadline passed: {label} request of client {mail.pseudonym} ({mail.due_on.isoformat()})"
        lead = (f"The deadline for the {step} of the {label} request of client {mail.pseudonym} was "
                f"{mail.due_on.isoformat()}, and the step has not been taken.")
    else:
        subject = f"Reminder: {label} request of client {mail.pseudonym} due {mail.due_on.isoformat()}"
        lead = (f"The {step} of the {label} request of client {mail.pseudonym} is due on "
                f"{mail.due_on.isoformat()}.")
    return _message(settings, mail.address, subject, lead, "/ui/requests")


def _message(settings: "Settings", address: str, subject: str, lead: str, path: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.mail_from
    msg["To"] = address
    msg.set_content(f"{lead}\n\nOpen the gateway: {settings.public_url}{path}\n\n"
                    "This message holds no client data; sign in to see more.\n")
    return msg


def _unmailed(tx: Transaction) -> list[_Mail]:
    rows = tx.session.execute(
        select(Notice.id, Staff.email, DeadlineNotice.kind, Client.pseudonym, RightsRequest.kind,
               DeadlineNotice.deadline, DeadlineNotice.due_on)
        .join(Staff, Staff.id == Notice.staff_id)
        .join(DeadlineNotice, DeadlineNotice.id == Notice.deadline_notice_id)
        .outerjoin(RightsRequest, RightsRequest.id == DeadlineNotice.request_id)
        .join(Client, Client.id == DeadlineNotice.client_id)
        .where(Notice.mailed_at.is_(None), Notice.dismissed_at.is_(None), Staff.email.is_not(None),
               Staff.active.is_(True))
        .order_by(Notice.created_at, Notice.id)).all()
    return [_Mail(*row) for row in rows]


def _mark(tx: Transaction, notice_id: uuid.UUID, *, mailed: bool) -> None:
    values = {"mail_attempts": Notice.mail_attempts + 1}
    if mailed:
        values["mailed_at"] = tx.now
    tx.write(lambda conn: conn.execute(update(Notice).where(Notice.id == notice_id).values(**values)))
    tx.commit()


def deliver(runtime: "Runtime", tx: Transaction) -> dict[str, int]:
    """Mail every notice not yet mailed (this pass's and those a failed pass left); never raises for
    the SMTP server: a failure is logged and the notice stays unmailed for the next pass."""
    settings = runtime.settings
    if not settings.smtp_host:
        return {}
    mails = _unmailed(tx)
    tx.end_reads()
    if not mails:
        return {}
    mailed = failed = 0
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("notice_mail_failed", stage="connect", error=type(exc).__name__, pending=len(mails))
        for mail in mails:
            _mark(tx, mail.notice_id, mailed=False)
        return {"mailed": 0, "mail_failed": len(mails)}
    try:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        for mail in mails:
            try:
                smtp.send_message(message(settings, mail))
            except (OSError, smtplib.SMTPException) as exc:
                log.error("notice_mail_failed", stage="send", notice_id=str(mail.notice_id), error=type(exc).__name__)
                _mark(tx, mail.notice_id, mailed=False)
                failed += 1
                if isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                    break  # the connection is gone; the rest wait for the next pass
                continue
            _mark(tx, mail.notice_id, mailed=True)
            log.info("notice_mailed", notice_id=str(mail.notice_id))
            mailed += 1
    except (OSError, smtplib.SMTPException) as exc:
        log.error("notice_mail_failed", stage="session", error=type(exc).__name__)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    left = len(mails) - mailed - failed
    return {"mailed": mailed, "mail_failed": failed + left}


# --- notices in the web UI ------------------------------------------------------------------------

def _authorize(tx: Transaction, audit_action: AuditAction, *, purpose: str, object_id: str | None = None,
               detail=None) -> Decision:
    decision = tx.decide(Action.NOTICE_READ, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(audit_action, decision, purpose=purpose, object_type="notice", object_id=object_id)
        raise tx.refuse(decision)
    return decision


def open_notices(tx: Transaction, *, purpose: str) -> list[NoticeView]:
    """The signed-in staff member's notices not yet dismissed, newest first."""
    decision = _authorize(tx, AuditAction.NOTICE_LIST, purpose=purpose)
    rows = tx.session.execute(
        select(Notice, DeadlineNotice, Client.pseudonym, RightsRequest.kind)
        .join(DeadlineNotice, DeadlineNotice.id == Notice.deadline_notice_id)
        .outerjoin(RightsRequest, RightsRequest.id == DeadlineNotice.request_id)
        .join(Client, Client.id == DeadlineNotice.client_id)
        .where(Notice.staff_id == tx.actor.staff_id, Notice.dismissed_at.is_(None))
        .order_by(Notice.created_at.desc(), DeadlineNotice.due_on, Notice.id)).all()
    views = [NoticeView(id=notice.id, kind=about.kind, request_id=about.request_id, client_id=about.client_id,
                        client_pseudonym=pseudonym, request_kind=request_kind, deadline=about.deadline,
                        due_on=about.due_on, days=about.days, created_at=notice.created_at,
                        dismissed_at=notice.dismissed_at)
             for notice, about, pseudonym, request_kind in rows]
    tx.record_decision(AuditAction.NOTICE_LIST, decision, purpose=purpose, object_type="notice",
                       detail={"returned": len(views)})
    return views


def dismiss_notice(tx: Transaction, notice_id: uuid.UUID, *, purpose: str) -> None:
    """Dismiss one of the signed-in staff member's notices (idempotent); someone else's is 404."""
    decision = _authorize(tx, AuditAction.NOTICE_DISMISS, purpose=purpose, object_id=str(notice_id))
    row = tx.session.get(Notice, notice_id)
    if row is None or row.staff_id != tx.actor.staff_id:
        tx.record(AuditAction.NOTICE_DISMISS, outcome=AuditOutcome.DENY, reason="not_found", purpose=purpose,
                  object_type="notice", object_id=str(notice_id))
        raise NotFound("no notice with this id for you")
    tx.record_decision(AuditAction.NOTICE_DISMISS, decision, purpose=purpose, object_type="notice",
                       object_id=str(notice_id), detail={"already": row.dismissed_at is not None})
    if row.dismissed_at is None:
        now = tx.now
        tx.write(lambda conn: conn.execute(update(Notice).where(Notice.id == notice_id, Notice.dismissed_at.is_(None))
                                           .values(dismissed_at=now)))
