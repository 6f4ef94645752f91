"""Decision letters and the printable access copy over HTTP on loopback, on both engines: the PDF's text
(read back with pypdf) holds the outcome, the reasons and the dates; the answer is a download that
nobody caches, named by ids only; each is decided and recorded without content, refusals included."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from audit import AuditAction, Outcome
from tests.gateway.helpers import auth, last_event, token
from tests.gateway.test_rights_api import (REASONS, STATEMENT, correction, entry_of_kind, ggz, manager, record,
                                           requests_url, step)
from tests.rights.test_letters import text_of


@pytest.fixture
def client_id(demo):
    return demo.clients[0]


def pdf_of(http, url, headers, **params):
    answer = http.get(url, headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    return answer


def test_a_granted_correction_has_its_letter_in_dutch_and_english(runtime, http, demo, client_id, clock):
    entry = entry_of_kind(http, runtime, demo, client_id)
    rid = correction(http, runtime, demo, client_id, entry["id"])["id"]
    letter_url = requests_url(client_id, rid, "letter")
    early = http.get(letter_url, headers=manager(runtime, demo))
    assert early.status_code == 409 and early.headers["content-type"].startswith("application/problem+json")
    event = last_event(runtime, action=AuditAction.REQUEST_LETTER)
    assert (event.outcome, event.detail["written"]) == (Outcome.ERROR, False)  # the unit ended in its 409

    step(http, runtime, demo, client_id, rid, "review")
    clock.advance(dt.timedelta(days=3))
    decided = step(http, runtime, demo, client_id, rid, "decision", {"outcome": "granted", "reasons": REASONS})

    dutch = pdf_of(http, letter_url, manager(runtime, demo))
    assert dutch.headers["content-disposition"] == f'attachment; filename="decision-{rid}-nl.pdf"'
    text = text_of(dutch.content)
    assert "Wij wijzen uw verzoek om correctie toe." in text and REASONS in text
    assert "23 november 2026" in text and "26 november 2026" in text  # received, decided
    assert "Dit besluit is op tijd." in text and rid in text
    execution = dt.date.fromisoformat(decided["execution_due"])
    assert f"{execution.day} " in text and "verbeterd" in text
    event = last_event(runtime, action=AuditAction.REQUEST_LETTER)
    assert (event.outcome, event.object_id, event.actor_id, event.detail) == (
        Outcome.PERMIT, rid, demo.staff["client_manager"], {"outcome": "granted", "language": "nl", "written": True})
    assert REASONS not in str(event.detail) and STATEMENT not in str(event.detail)

    english = text_of(pdf_of(http, letter_url, manager(runtime, demo), language="en").content)
    assert "We grant your request for correction." in english and REASONS in english
    assert "26 November 2026" in english

    wrong = http.get(letter_url, headers=manager(runtime, demo), params={"language": "de"})
    assert wrong.status_code == 422
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).outcome == Outcome.DENY


def test_the_letter_is_refused_to_others_on_record(runtime, http, demo, client_id):
    rid = record(http, runtime, demo, client_id, {"kind": "objection", "grounds": "No more sharing."})["id"]
    step(http, runtime, demo, client_id, rid, "review")
    step(http, runtime, demo, client_id, rid, "decision", {"outcome": "unjustified", "reasons": REASONS})
    letter_url = requests_url(client_id, rid, "letter")
    assert http.get(letter_url).status_code == 401
    refused = http.get(letter_url, headers=ggz(runtime, demo, "subject_rights"))
    assert refused.status_code in (403, 404)
    event = last_event(runtime, action=AuditAction.REQUEST_LETTER)
    assert (event.outcome, event.actor_id, event.object_id) == (Outcome.DENY, demo.staff["ggz_worker"], rid)
    police = auth(token(runtime, demo.staff["police_officer"]), "subject_rights")
    assert http.get(letter_url, headers=police).status_code in (403, 404)
    assert last_event(runtime, action=AuditAction.REQUEST_LETTER).actor_id == demo.staff["police_officer"]
    unknown = http.get(requests_url(client_id, uuid.uuid4(), "letter"), headers=manager(runtime, demo))
    assert unknown.status_code == 404
    assert last_event(runtime, action=AuditAction.REQUEST_LETTER).object_id != rid  # decided, recorded, not found
    text = text_of(pdf_of(http, letter_url, manager(runtime, demo)).content)
    assert "Uw bezwaar is ongegrond." in text and REASONS in text


def test_the_access_copy_as_pdf_holds_what_the_json_copy_holds(runtime, http, demo, client_id):
    rid = record(http, runtime, demo, client_id, {"kind": "access"})["id"]
    copy_url = requests_url(client_id, rid, "copy.pdf")
    assert http.get(copy_url, headers=manager(runtime, demo)).status_code == 409  # not yet in review
    step(http, runtime, demo, client_id, rid, "review")
    as_json = http.get(requests_url(client_id, rid, "copy"), headers=manager(runtime, demo)).json()
    answer = pdf_of(http, copy_url, manager(runtime, demo))
    assert answer.headers["content-disposition"] == f'attachment; filename="access-copy-{rid}-nl.pdf"'
    text = text_of(answer.content)
    assert as_json["client"]["pseudonym"] in text and rid in text
    for entry in as_json["entries"]:
        for value in entry["content"].values():
            if isinstance(value, str) and len(value) > 12:
                assert value[:12] in text
    assert runtime.covenant.parties[demo.parties["shelter"]].name in text
    event = last_event(runtime, action=AuditAction.CLIENT_EXPORT)
    assert (event.outcome, event.detail["format"], event.detail["entries"]) == (
        Outcome.PERMIT, "pdf", len(as_json["entries"]))
    assert "Sleeps" not in str(event.detail)
    assert http.get(copy_url, headers=ggz(runtime, demo, "subject_rights")).status_code in (403, 404)
    assert last_event(runtime, action=AuditAction.CLIENT_EXPORT).outcome == Outcome.DENY
    english = text_of(pdf_of(http, copy_url, manager(runtime, demo), language="en").content)
    assert as_json["client"]["pseudonym"] in english

    decided = step(http, runtime, demo, client_id, rid, "decision", {"outcome": "granted", "reasons": "Your copy."})
    assert decided["status"] == "decided"
    letter = text_of(pdf_of(http, requests_url(client_id, rid, "letter"), manager(runtime, demo)).content)
    assert "Wij geven u inzage in al uw gegevens." in letter and "Your copy." in letter
