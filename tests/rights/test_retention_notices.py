"""Notices that a client's retention term ends (art. 9.3-9.5), through the deadlines pass: thirty days before,
to the client manager and the controller's field directors, once per client and term end; a later contact
moves the term end and the new date gets its own notice. Both engines, a controlled clock, loopback SMTP."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import update

from audit import AuditAction, Outcome
from gateway.parties.models import Staff
from gateway.rights import deadlines
from gateway.rights.models import Deadline
from gateway.transaction import Actor, Transaction
from tests.gateway.helpers import auth, events
from tests.gateway.test_events_api import system_token
from tests.gateway.test_oauth import Partner
from tests.rights.test_deadlines import MANAGER_MAIL, cast, notices, run, sent, settings, smtp, write  # noqa: F401
from tests.statistics.helpers import at, term_end

DIRECTOR_MAIL = "director@example.test"


def retention_notices(runtime):
    return [row for row in sent(runtime) if row.deadline == Deadline.RETENTION]


def with_director_mail(runtime, cast) -> None:
    director = uuid.UUID(cast.staff["field_director"])
    write(runtime, lambda conn: conn.execute(update(Staff).where(Staff.id == director).values(email=DIRECTOR_MAIL)))


def test_thirty_days_before_the_term_ends_the_manager_and_the_controllers_field_director_are_told_once(
        runtime, cast, clock, smtp):
    with_director_mail(runtime, cast)
    client_id = cast.clients[0]
    ends_on = term_end(runtime, client_id)
    at(clock, ends_on - dt.timedelta(days=31))
    assert run(runtime, ends_on - dt.timedelta(days=31)).counts["retention_noticed"] == 0
    assert retention_notices(runtime) == []

    day = ends_on - dt.timedelta(days=30)
    at(clock, day)
    assert run(runtime, day).counts["retention_noticed"] == 1
    [notice] = retention_notices(runtime)
    assert (notice.request_id, str(notice.client_id), notice.due_on, notice.kind, notice.days) == (
        None, client_id, ends_on, "reminder", 30)
    assert {str(row.staff_id) for row in notices(runtime) if row.deadline_notice_id == notice.id} == {
        cast.staff["client_manager"], cast.staff["field_director"]}

    event = events(runtime, action=AuditAction.RETENTION_NOTICED)[-1]
    assert (event.outcome, event.object_type, event.object_id) == (Outcome.PERMIT, "client", client_id)
    assert event.client_pseudonym.startswith("CL-")
    assert event.detail == {"deadline": "retention", "due_on": ends_on.isoformat(), "days": 30,
                            "notice": str(notice.id), "recipients": 2}

    [to_manager] = smtp.inbox.to(MANAGER_MAIL)
    [to_director] = smtp.inbox.to(DIRECTOR_MAIL)
    for message in (to_manager, to_director):
        assert event.client_pseudonym in message["Subject"] and ends_on.isoformat() in message["Subject"]
        body = message.get_content()
        assert "art. 9.4-9.5" in body and client_id not in body

    # Once: the same day again, the next day, and up to the term's end, nothing more.
    for later in (day, day + dt.timedelta(days=1), ends_on - dt.timedelta(days=1)):
        at(clock, later)
        assert run(runtime, later).counts["retention_noticed"] == 0
    assert len(retention_notices(runtime)) == 1 and len(smtp.inbox.messages) == 2


def test_a_pass_that_missed_the_day_catches_up_but_not_after_the_term(runtime, cast, clock, smtp):
    ends_on = term_end(runtime, cast.clients[0])
    at(clock, ends_on)
    assert run(runtime, ends_on).counts["retention_noticed"] == 0  # the term has ended: the purge's turn
    day = ends_on - dt.timedelta(days=10)
    at(clock, day)
    assert run(runtime, day).counts["retention_noticed"] == 1
    assert retention_notices(runtime)[0].days == 30


def test_a_later_contact_moves_the_term_end_and_the_new_date_gets_its_own_notice(runtime, cast, clock, smtp, http):
    client_id = cast.clients[0]
    ends_on = term_end(runtime, client_id)
    day = ends_on - dt.timedelta(days=30)
    at(clock, day)
    run(runtime, day)
    assert [row.due_on for row in retention_notices(runtime)] == [ends_on]

    # The shelter's system reports a contact: the term now runs from it (art. 9.3).
    contact_on = ends_on - dt.timedelta(days=20)
    at(clock, contact_on)
    shelter = Partner(runtime, cast.parties["shelter"])
    response = http.post(f"/v1/clients/{client_id}/events", json={"type": "contact", "date": contact_on.isoformat()},
                         headers=auth(system_token(http, shelter), "housing"))
    assert response.status_code == 201, response.text
    moved = term_end(runtime, client_id)
    assert moved == runtime.covenant.retention.after_last_contact.after(contact_on) > ends_on

    at(clock, contact_on + dt.timedelta(days=1))
    assert run(runtime, contact_on + dt.timedelta(days=1)).counts["retention_noticed"] == 0
    again = moved - dt.timedelta(days=30)
    at(clock, again)
    assert run(runtime, again).counts["retention_noticed"] == 1
    assert [row.due_on for row in retention_notices(runtime)] == [ends_on, moved]
    assert run(runtime, again).counts["retention_noticed"] == 0


def test_the_field_director_lists_and_dismisses_the_notice(runtime, cast, clock, smtp):
    ends_on = term_end(runtime, cast.clients[0])
    day = ends_on - dt.timedelta(days=30)
    at(clock, day)
    run(runtime, day)
    director = uuid.UUID(cast.staff["field_director"])

    def as_director(work):
        tx = Transaction(runtime, access_point="test", actor=Actor.staff_member(director, "test-system"))
        result = work(tx)
        tx.commit()
        return result

    [view] = as_director(lambda tx: deadlines.open_notices(tx, purpose="subject_rights"))
    assert (view.request_id, view.request_kind, view.deadline, view.due_on) == (None, None, "retention", ends_on)
    as_director(lambda tx: deadlines.dismiss_notice(tx, view.id, purpose="subject_rights"))
    assert as_director(lambda tx: deadlines.open_notices(tx, purpose="subject_rights")) == []
