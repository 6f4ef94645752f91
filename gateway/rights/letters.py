"""Written, reasoned decisions to the client, and the client's access copy, as PDF.

Covenant art. 13.2 wants a refusal "reasoned and in writing", art. 12 a copy of the client's data, and GDPR
art. 12(1) and (4) information "in a concise, intelligible and easily accessible form, using clear and
plain language", with the reasons for not acting and the right to complain to a supervisory authority and
go to court. So every decision on a request becomes a letter: Dutch by default, English on request.

Pure rendering: facts in, PDF bytes out. No database, no clock, no audit event (the request workflow that
calls this decides, records and stores), and nothing is logged but the kind, language and size: a letter
holds the client's name or pseudonym, the reasons and, for an access copy, the file itself.

The letters are Jinja2 templates (``templates/letters/``, one per document and language, so that whoever
reviews the wording reads whole letters) over one stylesheet, rendered to PDF by WeasyPrint. WeasyPrint
never fetches anything: the stylesheet is read from the package and every URL is refused, so no text in a
letter can make the gateway reach out. Autoescaping is on: a reason containing markup is printed as text.
Fonts come from the system (fontconfig; DejaVu on Debian, ``fonts-dejavu-core``), nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

import jinja2
import structlog

log = structlog.get_logger(__name__)

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")

_TEMPLATES = Path(__file__).parent / "templates" / "letters"
_STYLESHEET = _TEMPLATES / "letter.css"

_MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


class LetterKind(enum.StrEnum):
    """The request a decision letter answers (art. 11-12 access, 13 correction, 14 objection)."""

    ACCESS = "access"
    CORRECTION = "correction"
    OBJECTION = "objection"


class Outcome(enum.StrEnum):
    """A decision: access and correction are granted, granted in part or refused; an objection is found
    justified or unjustified (art. 14)."""

    GRANTED = "granted"
    GRANTED_IN_PART = "granted_in_part"
    REFUSED = "refused"
    JUSTIFIED = "justified"
    UNJUSTIFIED = "unjustified"


OUTCOMES: Mapping[LetterKind, frozenset[Outcome]] = {
    LetterKind.ACCESS: frozenset({Outcome.GRANTED, Outcome.GRANTED_IN_PART, Outcome.REFUSED}),
    LetterKind.CORRECTION: frozenset({Outcome.GRANTED, Outcome.GRANTED_IN_PART, Outcome.REFUSED}),
    LetterKind.OBJECTION: frozenset({Outcome.JUSTIFIED, Outcome.UNJUSTIFIED}),
}


class Measure(enum.StrEnum):
    """What carrying out a correction does to the data (art. 13: improve, complete, delete, shield)."""

    IMPROVE = "improve"
    COMPLETE = "complete"
    DELETE = "delete"
    SHIELD = "shield"


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """What a decision letter says.

    - ``controller``: the controller's name as the covenant gives it (:func:`controller_name`);
    - ``addressee``: how the letter addresses the client: their pseudonym, or a name the caller holds in
      memory for this letter only (it is never stored or logged here);
    - ``reference``: the request's id, so the client can refer to it;
    - ``received_on``, ``decided_on``, ``decision_due``: the request's dates; decided after
      ``decision_due`` the letter says so, with an apology (:attr:`late`);
    - ``outcome`` and ``reasons`` (free text, printed as text, paragraphs kept);
    - for a correction granted (in part): the ``measures`` carried out and ``execution_due``, the day by
      which they are (art. 13.3);
    - ``administrative_body``: the controller is a *bestuursorgaan* (a municipality is), so the decision is
      a *besluit* open to *bezwaar* under the Awb (UAVG art. 34); printed with the other remedies.
    """

    controller: str
    addressee: str
    reference: str
    received_on: dt.date
    decided_on: dt.date
    decision_due: dt.date
    outcome: Outcome
    reasons: str
    measures: tuple[Measure, ...] = ()
    execution_due: dt.date | None = None
    administrative_body: bool = True

    @property
    def late(self) -> bool:
        return self.decided_on > self.decision_due


def controller_name(covenant: Any) -> str:
    """The controller's name in a covenant (the party named by ``[covenant] controller``)."""
    return covenant.parties[covenant.controller].name


def render_letter(kind: LetterKind, language: Language, facts: LetterFacts) -> bytes:
    """The decision letter on a request of ``kind`` in ``language``, as PDF.

    Raises ``ValueError`` for facts that do not make a decision of this kind: an outcome the kind does not
    have, a correction granted without its measures or execution date, no reasons.
    """
    kind = LetterKind(kind)
    _check_language(language)
    outcome = Outcome(facts.outcome)
    if outcome not in OUTCOMES[kind]:
        raise ValueError(f"a decision on {kind} is one of {sorted(OUTCOMES[kind])}, not {outcome}")
    if not facts.reasons.strip():
        raise ValueError("a decision states its reasons")
    carried_out = kind is LetterKind.CORRECTION and outcome is not Outcome.REFUSED
    if carried_out and (not facts.measures or facts.execution_due is None):
        raise ValueError("a correction granted names its measures and the day by which they are carried out")
    head = {"controller": facts.controller}
    html = _render(f"decision_{language}.html", language, head=head, kind=kind.value, outcome=outcome.value,
                   facts=facts, measures=[Measure(m).value for m in facts.measures] if carried_out else [])
    pdf = _pdf(html)
    log.info("letter_rendered", letter="decision", kind=kind.value, language=language, size=len(pdf))
    return pdf


def render_access_copy(language: Language, copy: Mapping[str, Any]) -> bytes:
    """The client's access copy (art. 12) as a printable PDF.

    ``copy`` is the JSON-shaped copy the workflow produces for systems, with dates as ``date`` objects or
    ISO 8601 strings::

        {
          "controller": "College van B&W Demostad",
          "addressee": "K-7F3Q2",                     # pseudonym, or a name held in memory only
          "reference": "request id",
          "produced_on": "2026-11-23",
          "entries": [                                # everything on the client not withheld
            {"kind": "Notitie", "category": "Persoonsgegevens", "recorded_on": "2026-10-01",
             "party": "Stichting Opvang De Haven",    # optional
             "content": {"text": "...", ...}},        # the entry's fields, printed name: value
          ],
          "withheld": [                               # named with their ground, never their content
            {"kind": "Notitie", "recorded_on": "2026-10-02", "ground": "Bescherming van de rechten van anderen"},
          ],
          "accesses": [                               # who looked at the file: party and day
            {"party": "GGZ Rivierland", "on": "2026-10-03"},
          ],
        }

    Kinds, categories, grounds and parties are printed as given: pass the covenant's names, not its codes.
    """
    _check_language(language)
    prepared = {
        "controller": _required_text(copy, "controller"),
        "addressee": _required_text(copy, "addressee"),
        "reference": str(copy.get("reference") or ""),
        "produced_on": _date(copy.get("produced_on"), "produced_on"),
        "entries": [
            {"kind": str(entry["kind"]), "category": str(entry.get("category", "")),
             "recorded_on": _date(entry.get("recorded_on"), "entries[].recorded_on"),
             "party": str(entry.get("party") or ""),
             "content": [(str(name), _value(value)) for name, value in dict(entry.get("content") or {}).items()]}
            for entry in copy.get("entries") or ()
        ],
        "withheld": [
            {"kind": str(entry["kind"]), "recorded_on": _date(entry.get("recorded_on"), "withheld[].recorded_on"),
             "ground": _required_text(entry, "ground")}
            for entry in copy.get("withheld") or ()
        ],
        "accesses": [
            {"party": _required_text(access, "party"), "on": _date(access.get("on"), "accesses[].on")}
            for access in copy.get("accesses") or ()
        ],
    }
    html = _render(f"access_copy_{language}.html", language, head={"controller": prepared["controller"]},
                   copy=prepared)
    pdf = _pdf(html)
    log.info("letter_rendered", letter="access_copy", language=language, entries=len(prepared["entries"]),
             withheld=len(prepared["withheld"]), size=len(pdf))
    return pdf


def long_date(day: dt.date, language: Language) -> str:
    """A date as a letter writes it: ``23 november 2026`` in Dutch, ``23 November 2026`` in English."""
    return f"{day.day} {_MONTHS[language][day.month - 1]} {day.year}"


# --- rendering -----------------------------------------------------------------------------------------------

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _render(template: str, language: Language, **context: Any) -> str:
    return _environment.get_template(template).render(
        language=language, date=lambda day: long_date(day, language), stylesheet=_STYLESHEET.read_text(),
        **context)


def _pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango through cffi, which the API's other routes do not need.
    import weasyprint

    return weasyprint.HTML(string=html, url_fetcher=_no_fetching()).write_pdf()


@functools.cache
def _no_fetching() -> Any:
    """A WeasyPrint URL fetcher that fetches nothing: a letter is built from its template and stylesheet only."""
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError("a letter fetches nothing")

    return NoFetching(fail_on_errors=False)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"letters are written in {' or '.join(LANGUAGES)}, not {language!r}")


def _required_text(table: Mapping[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"the access copy needs {key!r}")
    return value


def _date(value: Any, place: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ValueError(f"the access copy needs a date (ISO 8601) at {place}")


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(item) for item in value)
    return str(value)


__all__ = ["LANGUAGES", "LetterFacts", "LetterKind", "Measure", "Outcome", "controller_name", "long_date",
           "render_access_copy", "render_letter"]
