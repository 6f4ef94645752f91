"""Decision letters and access copies as PDF: rendered for real by WeasyPrint, read back with pypdf.

Each letter kind with each of its outcomes in both languages; the text extracted from the PDF holds the
decision, the reasons, the dates written out in the letter's language, the deadline and whether it was
missed, and the remedies. Markup in a reason is printed, never interpreted.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from pypdf import PdfReader

import policies
from covenant import load_covenant
from gateway.rights.letters import (
    LetterFacts,
    LetterKind,
    Measure,
    Outcome,
    controller_name,
    long_date,
    render_access_copy,
    render_letter,
)
from tests.gateway.test_privacy import captured_logs  # noqa: F401 (a fixture)

CONTROLLER = controller_name(load_covenant(policies.DEMO_REGION))
D = dt.date


def facts(outcome: Outcome, **changes) -> LetterFacts:
    values = dict(controller=CONTROLLER, addressee="K-7F3Q2", reference="req-0001", received_on=D(2026, 11, 2),
                  decided_on=D(2026, 11, 13), decision_due=D(2026, 11, 16), outcome=outcome,
                  reasons="The note of 1 October names the wrong shelter.")
    values.update(changes)
    return LetterFacts(**values)


def text_of(pdf: bytes) -> str:
    """The PDF's text with line breaks and runs of spaces made single spaces, so sentences can be matched."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


DECISIONS = {
    ("access", "granted", "nl"): "Wij geven u inzage in al uw gegevens.",
    ("access", "granted_in_part", "nl"): "Wij geven u gedeeltelijk inzage in uw gegevens.",
    ("access", "refused", "nl"): "Wij geven u geen inzage in uw gegevens.",
    ("correction", "granted", "nl"): "Wij wijzen uw verzoek om correctie toe.",
    ("correction", "granted_in_part", "nl"): "Wij wijzen uw verzoek om correctie gedeeltelijk toe.",
    ("correction", "refused", "nl"): "Wij wijzen uw verzoek om correctie af.",
    ("objection", "justified", "nl"): "Uw bezwaar is gegrond. Wij stoppen met het verwerken van uw gegevens",
    ("objection", "unjustified", "nl"): "Uw bezwaar is ongegrond.",
    ("access", "granted", "en"): "We give you access to all your data.",
    ("access", "granted_in_part", "en"): "We give you access to part of your data.",
    ("access", "refused", "en"): "We do not give you access to your data.",
    ("correction", "granted", "en"): "We grant your request for correction.",
    ("correction", "granted_in_part", "en"): "We grant your request for correction in part.",
    ("correction", "refused", "en"): "We refuse your request for correction.",
    ("objection", "justified", "en"): "Your objection is justified. We stop processing your data",
    ("objection", "unjustified", "en"): "Your objection is unjustified.",
}


@pytest.mark.parametrize(("kind", "outcome", "language"), list(DECISIONS))
def test_each_decision_letter_states_the_decision_reasons_dates_and_remedies(kind: str, outcome: str,
                                                                              language: str) -> None:
    correction_carried_out = kind == "correction" and outcome != "refused"
    extra = dict(measures=(Measure.IMPROVE, Measure.SHIELD), execution_due=D(2026, 11, 27)) \
        if correction_carried_out else {}
    pdf = render_letter(LetterKind(kind), language, facts(Outcome(outcome), **extra))
    text = text_of(pdf)

    assert DECISIONS[(kind, outcome, language)] in text
    assert "The note of 1 October names the wrong shelter." in text
    assert CONTROLLER in text and "K-7F3Q2" in text and "req-0001" in text
    if language == "nl":
        assert "2 november 2026" in text and "13 november 2026" in text
        assert "Wij moesten uiterlijk op 16 november 2026 beslissen. Dit besluit is op tijd." in text
        assert "klacht indienen bij de Autoriteit Persoonsgegevens" in text and "naar de rechter" in text
        assert "binnen zes weken na de datum van deze brief bezwaar maken" in text
    else:
        assert "2 November 2026" in text and "13 November 2026" in text
        assert "We had to decide by 16 November 2026. This decision is on time." in text
        assert "complaint with the Dutch Data Protection Authority" in text and "go to court" in text
    if correction_carried_out:
        assert ("uiterlijk op 27 november 2026" if language == "nl" else "by 27 November 2026") in text
        assert all(word in text for word in (("verbeterd", "afgeschermd") if language == "nl"
                                             else ("improved", "shielded")))
    else:
        assert "27 november" not in text.lower()


@pytest.mark.parametrize(("language", "sentence"), [
    ("nl", "Wij hadden uiterlijk op 16 november 2026 moeten beslissen. Ons besluit is dus te laat."),
    ("en", "We should have decided by 16 November 2026. Our decision is therefore late."),
])
def test_a_late_decision_says_so(language: str, sentence: str) -> None:
    text = text_of(render_letter(LetterKind.OBJECTION, language,
                                 facts(Outcome.UNJUSTIFIED, decided_on=D(2026, 11, 17))))
    assert sentence in text


def test_a_controller_that_is_no_administrative_body_offers_no_awb_objection() -> None:
    text = text_of(render_letter(LetterKind.CORRECTION, "nl", facts(Outcome.REFUSED, administrative_body=False)))
    assert "zes weken" not in text
    assert "Autoriteit Persoonsgegevens" in text


def test_markup_in_the_reasons_is_printed_as_text() -> None:
    reasons = 'Refused: <script>alert("x")</script> & <img src="file:///etc/passwd"> <b>not bold</b>'
    text = text_of(render_letter(LetterKind.CORRECTION, "en", facts(Outcome.REFUSED, reasons=reasons)))
    assert '<script>alert("x")</script>' in text
    assert '<img src="file:///etc/passwd">' in text and "<b>not bold</b>" in text


def test_the_pdf_carries_its_language_title_and_author() -> None:
    for language, title in (("nl", "Besluit op uw verzoek om correctie van uw gegevens"),
                            ("en", "Decision on your request to have your data corrected")):
        pdf = render_letter(LetterKind.CORRECTION, language, facts(Outcome.REFUSED))
        reader = PdfReader(io.BytesIO(pdf))
        assert pdf.startswith(b"%PDF-")
        assert reader.trailer["/Root"]["/Lang"] == language
        assert reader.metadata.title == title
        assert reader.metadata.author == CONTROLLER


@pytest.mark.parametrize(("kind", "outcome", "changes", "problem"), [
    (LetterKind.OBJECTION, Outcome.GRANTED, {}, "a decision on objection is one of"),
    (LetterKind.CORRECTION, Outcome.JUSTIFIED, {}, "a decision on correction is one of"),
    (LetterKind.CORRECTION, Outcome.GRANTED, {}, "names its measures"),
    (LetterKind.CORRECTION, Outcome.GRANTED_IN_PART, {"measures": (Measure.DELETE,)}, "names its measures"),
    (LetterKind.ACCESS, Outcome.REFUSED, {"reasons": "  \n"}, "states its reasons"),
])
def test_facts_that_make_no_decision_are_refused(kind, outcome, changes, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        render_letter(kind, "nl", facts(outcome, **changes))


def test_letters_are_dutch_or_english() -> None:
    with pytest.raises(ValueError, match="nl or en"):
        render_letter(LetterKind.ACCESS, "de", facts(Outcome.GRANTED))


@pytest.mark.parametrize(("language", "day", "written"), [
    ("nl", D(2026, 11, 23), "23 november 2026"),
    ("nl", D(2027, 3, 1), "1 maart 2027"),
    ("en", D(2026, 11, 23), "23 November 2026"),
])
def test_dates_are_written_out_in_the_letters_language(language: str, day: dt.date, written: str) -> None:
    assert long_date(day, language) == written


# --- the access copy -------------------------------------------------------------------------------------------

COPY = {
    "controller": CONTROLLER,
    "addressee": "K-7F3Q2",
    "reference": "req-0002",
    "produced_on": "2026-11-23",
    "entries": [
        {"kind": "Notitie", "category": "Persoonsgegevens", "recorded_on": D(2026, 10, 1),
         "party": "Stichting Opvang De Haven", "content": {"text": "Slept at the night shelter. <i>ok</i>"}},
        {"kind": "Contact", "category": "Persoonsgegevens", "recorded_on": "2026-10-05T09:30:00+00:00",
         "content": {"contact_on": "2026-10-05", "life_domains": ["housing", "income"]}},
    ],
    "withheld": [
        {"kind": "Notitie", "recorded_on": "2026-10-02", "ground": "Bescherming van de rechten van anderen",
         "content": {"text": "SECRET-CONTENT-NEVER-PRINTED"}},
    ],
    "accesses": [
        {"party": "GGZ Rivierland", "on": "2026-10-03"},
        {"party": "Politie, eenheid Demostad", "on": D(2026, 10, 4)},
    ],
}


@pytest.mark.parametrize(("language", "sentences"), [
    ("nl", ["Afschrift van uw gegevens", "Uw gegevens", "Notitie, 1 oktober 2026", "Contact, 5 oktober 2026",
            "Vastgelegd door Stichting Opvang De Haven", "Gegevens die wij u niet geven",
            "Notitie 2 oktober 2026 Bescherming van de rechten van anderen", "Wie uw dossier heeft ingezien",
            "GGZ Rivierland 3 oktober 2026", "Politie, eenheid Demostad 4 oktober 2026"]),
    ("en", ["Copy of your data", "Your data", "Notitie, 1 October 2026", "Recorded by Stichting Opvang De Haven",
            "Data we do not give you", "Notitie 2 October 2026 Bescherming van de rechten van anderen",
            "Who looked at your file", "GGZ Rivierland 3 October 2026"]),
])
def test_the_access_copy_prints_entries_withheld_grounds_and_who_looked(language: str,
                                                                        sentences: list[str]) -> None:
    pdf = render_access_copy(language, COPY)
    text = text_of(pdf)

    for sentence in sentences:
        assert sentence in text
    assert "Slept at the night shelter. <i>ok</i>" in text
    assert "housing, income" in text
    assert "SECRET-CONTENT-NEVER-PRINTED" not in text
    assert PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == language


def test_an_empty_access_copy_says_there_is_nothing() -> None:
    text = text_of(render_access_copy("nl", {**COPY, "entries": [], "withheld": [], "accesses": []}))
    assert "Er zijn geen gegevens over u vastgelegd" in text
    assert "Wij geven u al uw gegevens." in text
    assert "Niemand heeft uw dossier ingezien." in text


@pytest.mark.parametrize(("change", "problem"), [
    ({"produced_on": "yesterday"}, "a date"),
    ({"addressee": ""}, "'addressee'"),
    ({"withheld": [{"kind": "Notitie", "recorded_on": "2026-10-02"}]}, "'ground'"),
])
def test_an_access_copy_without_what_it_needs_is_refused(change: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        render_access_copy("en", {**COPY, **change})


def test_rendering_logs_no_personal_data(captured_logs) -> None:
    """Through the logging production has (JSON lines; structlog's ``capture_logs`` misses loggers that
    were cached before it, so it depends on which test ran first)."""
    render_letter(LetterKind.CORRECTION, "nl", facts(Outcome.REFUSED, addressee="Jan Jansen"))
    render_access_copy("en", {**COPY, "addressee": "Jan Jansen"})
    logged = captured_logs.read_text()
    assert [json.loads(line)["event"] for line in logged.splitlines()
            if '"gateway.rights.letters"' in line] == ["letter_rendered", "letter_rendered"]
    for secret in ("Jan Jansen", "wrong shelter", "night shelter", "GGZ Rivierland", "Bescherming"):
        assert secret not in logged


def test_a_letter_fetches_nothing_even_if_its_html_names_a_url() -> None:
    """Defence in depth behind autoescaping: the renderer's fetcher refuses every URL (here a loopback server
    that counts requests)."""
    import http.server
    import threading

    from gateway.rights.letters import _pdf

    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        pdf = _pdf(f'<html><head><link rel="stylesheet" href="{base}/a.css"></head>'
                   f'<body><img src="{base}/x.png">text</body></html>')
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF-")
    assert requests == []
