"""Load and validate a covenant document.

A document is TOML. A region's document may say ``extends = "model-covenant.toml"``: each
top-level table it defines then replaces the model's table of that name (Instrument 3a: the
region adopts the model and fills in what the model leaves "pm").

Every fault is reported as a :class:`CovenantError` naming the file and the place in it, such as
``demo.toml: party_kinds.police.read[1]: unknown category 'secret'``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

from covenant.model import (
    CORE_CATEGORIES,
    CRIMINAL,
    DEFAULT_BACKUP_GRACE,
    DEFAULT_STATISTICS_K,
    GDPR_ACCESS_TERM,
    Action,
    Category,
    Code,
    ConsentRule,
    Covenant,
    Duration,
    Emergency,
    EntryKind,
    FieldSpec,
    FieldType,
    Party,
    PartyKind,
    Purpose,
    Reporting,
    Retention,
    Role,
    Terms,
    frozen_mapping,
)

_CODE = re.compile(r"[a-z][a-z0-9_-]{0,63}", re.ASCII)
_DURATION = re.compile(r"P(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?",
                       re.ASCII)
_WINDOW = re.compile(r"PT(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?", re.ASCII)
# A break-the-glass window is short by nature: it covers an emergency, not the care that follows it
# (that needs a care-team link, Instrument 2e).
MAX_EMERGENCY_WINDOW = dt.timedelta(hours=24)
MAX_STATISTICS_K = 1000
# A key-store backup restores destroyed files for as long as this term: more than a quarter defeats the
# purpose of destroying them (art. 9), so a covenant may shorten the default, and lengthen it only so far.
MAX_BACKUP_GRACE_DAYS = 92
_DOCUMENT_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.toml", re.ASCII)
_TOP_LEVEL = (
    "covenant",
    "party_kinds",
    "parties",
    "purposes",
    "categories",
    "terms",
    "retention",
    "confidentiality_grounds",
    "life_domains",
    "entry_kinds",
    "emergency",
    "reporting",
    "consents",
)
# A processing activity's identifier (art. 15): letters, digits and ``:._-``, as in a URN's parts.
ACTIVITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,99}", re.ASCII)
_MAX_EXTENDS_DEPTH = 4
_TERMS = ("access", "correction_decision", "correction_execution", "objection_decision")


class CovenantError(ValueError):
    """A covenant document is invalid; the message names the file and the place of the fault."""

    def __init__(self, source: str, place: str, problem: str) -> None:
        self.source = source
        self.place = place
        self.problem = problem
        super().__init__(f"{source}: {place}: {problem}" if place else f"{source}: {problem}")


def load_covenant(path: str | Path) -> Covenant:
    """Read, merge (``extends``) and validate the covenant document at ``path``."""
    path = Path(path)
    raw = _read_merged(path, depth=0)
    return parse_covenant(raw, source=path.name)


def read_document(path: str | Path) -> dict[str, Any]:
    """The resolved document at ``path`` (its ``extends`` merged in), unvalidated: what a version signs."""
    return _read_merged(Path(path), depth=0)


def parse_covenant(document: Mapping[str, Any], *, source: str = "<covenant>") -> Covenant:
    """Validate an already parsed document and build the :class:`Covenant`."""
    return _Parser(document, source).covenant()


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 calendar duration such as ``P14D``, ``P4W``, ``P1M`` or ``P5Y``."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match or text == "P":
        raise ValueError(f"not an ISO 8601 duration of years, months, weeks and days: {text!r}")
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    return Duration(years=parts["years"], months=parts["months"], days=parts["days"] + 7 * parts["weeks"])


def parse_window(text: str) -> dt.timedelta:
    """Parse an ISO 8601 time duration of hours and minutes, such as ``PT4H`` or ``PT1H30M``.

    The covenant's terms are calendar durations (:func:`parse_duration`); a break-the-glass window is
    measured by the clock, so it has its own, time-only form.
    """
    match = _WINDOW.fullmatch(text) if isinstance(text, str) else None
    if not match or text == "PT":
        raise ValueError(f"not an ISO 8601 duration of hours and minutes: {text!r}")
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    return dt.timedelta(hours=parts["hours"], minutes=parts["minutes"])


def _read_merged(path: Path, depth: int) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise CovenantError(path.name, "", "file not found") from None
    except IsADirectoryError:
        raise CovenantError(path.name, "", "is a folder, not a covenant document") from None
    except UnicodeDecodeError:
        raise CovenantError(path.name, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CovenantError(path.name, "", f"not valid TOML: {exc}") from None
    base_name = raw.pop("extends", None)
    if base_name is None:
        return raw
    if not isinstance(base_name, str) or not _DOCUMENT_NAME.fullmatch(base_name):
        raise CovenantError(path.name, "extends", "must name a .toml document in the same folder")
    if depth >= _MAX_EXTENDS_DEPTH:
        raise CovenantError(path.name, "extends", "documents extend each other too deeply")
    merged = _read_merged(path.parent / base_name, depth + 1)
    merged.update(raw)
    return merged


class _Parser:
    def __init__(self, document: Mapping[str, Any], source: str) -> None:
        self.doc = document
        self.source = source

    def fail(self, place: str, problem: str) -> CovenantError:
        return CovenantError(self.source, place, problem)

    def table(self, value: Any, place: str, *, required: bool = True) -> Mapping[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(place, "missing table" if value is None else "must be a table")
        return value

    def text(self, table: Mapping[str, Any], key: str, place: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{place}.{key}", "missing" if value is None else "must be a non-empty string")
        return value

    def flag(self, table: Mapping[str, Any], key: str, place: str, default: bool | None = None) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{place}.{key}", "missing" if value is None else "must be true or false")
        return value

    def codes(self, table: Mapping[str, Any], key: str, place: str, known: Mapping | frozenset | set,
              what: str, *, default: list | None = None) -> frozenset:
        value = table.get(key, default)
        if not isinstance(value, list):
            raise self.fail(f"{place}.{key}", "missing" if value is None else "must be a list")
        seen = set()
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{place}.{key}[{index}]", f"must be a {what} code (a string)")
            if item not in known:
                listing = ", ".join(sorted(known))
                raise self.fail(f"{place}.{key}[{index}]", f"unknown {what} {item!r} (known: {listing})")
            if item in seen:
                raise self.fail(f"{place}.{key}[{index}]", f"{what} {item!r} is listed twice")
            seen.add(item)
        return frozenset(seen)

    def check_keys(self, table: Mapping[str, Any], place: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{place}.{key}" if place else key, f"unknown key (allowed: {', '.join(allowed)})")

    def named_tables(self, key: str) -> Mapping[str, Mapping[str, Any]]:
        tables = self.table(self.doc.get(key), key)
        if not tables:
            raise self.fail(key, "must define at least one entry")
        for code, value in tables.items():
            if not _CODE.fullmatch(code):
                raise self.fail(f"{key}.{code}", "code must be lower case letters, digits, '_' or '-'")
            self.table(value, f"{key}.{code}")
        return tables

    def duration(self, table: Mapping[str, Any], key: str, place: str) -> Duration:
        value = table.get(key)
        try:
            duration = parse_duration(value)
        except ValueError as exc:
            raise self.fail(f"{place}.{key}", "missing" if value is None else str(exc)) from None
        if duration == Duration():
            raise self.fail(f"{place}.{key}", "must be longer than zero")
        return duration

    def code_list(self, key: str) -> Mapping[str, Code]:
        result = {}
        for code, table in self.named_tables(key).items():
            self.check_keys(table, f"{key}.{code}", ("name",))
            result[code] = Code(code=code, name=self.text(table, "name", f"{key}.{code}"))
        return frozen_mapping(result)

    def covenant(self) -> Covenant:
        self.check_keys(self.doc, "", _TOP_LEVEL)
        head = self.table(self.doc.get("covenant"), "covenant")
        self.check_keys(head, "covenant", ("id", "version", "name", "controller"))
        for key in ("id", "version", "name", "controller"):
            self.text(head, key, "covenant")

        categories = {}
        for code, table in self.named_tables("categories").items():
            self.check_keys(table, f"categories.{code}", ("name",))
            categories[code] = Category(code=code, name=self.text(table, "name", f"categories.{code}"))
        for core in CORE_CATEGORIES:
            if core not in categories:
                raise self.fail("categories", f"must define the category {core!r} (art. 3)")

        kinds = {}
        for code, table in self.named_tables("party_kinds").items():
            place = f"party_kinds.{code}"
            self.check_keys(table, place, ("name", "criminal_justice", "read", "write"))
            kind = PartyKind(
                code=code,
                name=self.text(table, "name", place),
                criminal_justice=self.flag(table, "criminal_justice", place),
                read=self.codes(table, "read", place, categories, "category"),
                write=self.codes(table, "write", place, categories, "category"),
            )
            for right, granted in (("read", kind.read), ("write", kind.write)):
                if CRIMINAL in granted and not kind.criminal_justice:
                    raise self.fail(
                        f"{place}.{right}",
                        "criminal data is only for criminal-justice parties until a prosecutor approves (art. 5)",
                    )
            kinds[code] = kind

        parties = {}
        for code, table in self.named_tables("parties").items():
            place = f"parties.{code}"
            self.check_keys(table, place, ("name", "kind"))
            kind = self.text(table, "kind", place)
            if kind not in kinds:
                raise self.fail(f"{place}.kind", f"unknown party kind {kind!r} (known: {', '.join(sorted(kinds))})")
            parties[code] = Party(code=code, name=self.text(table, "name", place), kind=kind)
        controller = head["controller"]
        if controller not in parties:
            raise self.fail("covenant.controller", f"names no party of this covenant: {controller!r}")

        actions = {action.value: action for action in Action}
        roles = {role.value: role for role in Role}
        purposes = {}
        for code, table in self.named_tables("purposes").items():
            place = f"purposes.{code}"
            self.check_keys(table, place, ("name", "article", "actions", "roles", "activity"))
            activity = table.get("activity")
            if activity is not None and (not isinstance(activity, str) or not ACTIVITY_ID.fullmatch(activity)):
                raise self.fail(f"{place}.activity", "must be an identifier of letters, digits and ':._-' "
                                                     "(at most 100 characters)")
            purposes[code] = Purpose(
                code=code,
                name=self.text(table, "name", place),
                article=self.text(table, "article", place),
                actions=frozenset(actions[a] for a in self.codes(table, "actions", place, actions, "action")),
                roles=frozenset(roles[r] for r in self.codes(table, "roles", place, roles, "role", default=[])),
                activity=activity,
            )
        activities: dict[str, str] = {}
        for code, purpose in purposes.items():
            activity = f"{head['id']}:{code}" if purpose.activity is None else purpose.activity
            if activity in activities:
                raise self.fail(f"purposes.{code}.activity",
                                f"names the same processing activity as purposes.{activities[activity]}")
            activities[activity] = code

        terms = self.terms(self.table(self.doc.get("terms"), "terms"))
        retention_table = self.table(self.doc.get("retention"), "retention")
        self.check_keys(retention_table, "retention", ("after_last_contact", "statistics_k", "backup_grace"))
        retention = Retention(after_last_contact=self.duration(retention_table, "after_last_contact", "retention"),
                              statistics_k=self.statistics_k(retention_table),
                              backup_grace=self.backup_grace(retention_table))

        grounds = self.code_list("confidentiality_grounds")
        domains = self.code_list("life_domains")
        entry_kinds = {}
        for code, table in self.named_tables("entry_kinds").items():
            entry_kinds[code] = self.entry_kind(code, table, domains, parties)

        emergency = self.emergency(self.table(self.doc.get("emergency"), "emergency", required=False))
        reporting = self.reporting(self.table(self.doc.get("reporting"), "reporting", required=False))

        return Covenant(
            id=head["id"],
            version=head["version"],
            name=head["name"],
            controller=controller,
            party_kinds=frozen_mapping(kinds),
            parties=frozen_mapping(parties),
            purposes=frozen_mapping(purposes),
            categories=frozen_mapping(categories),
            terms=terms,
            retention=retention,
            confidentiality_grounds=grounds,
            life_domains=domains,
            entry_kinds=frozen_mapping(entry_kinds),
            emergency=emergency,
            reporting=reporting,
            consents=frozen_mapping(self.consents(kinds, categories)),
            digest=_digest(self.doc),
        )

    def statistics_k(self, table: Mapping[str, Any]) -> int:
        """``[retention] statistics_k`` (art. 9.4-9.5): the smallest group a kept extract row stands for.

        At least 2 (a group of one is the client), at most ``MAX_STATISTICS_K`` (beyond it nothing
        would ever be kept); the default when absent is ``DEFAULT_STATISTICS_K``."""
        value = table.get("statistics_k", DEFAULT_STATISTICS_K)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail("retention.statistics_k", "must be a whole number")
        if not 2 <= value <= MAX_STATISTICS_K:
            raise self.fail("retention.statistics_k", f"must be at least 2 and at most {MAX_STATISTICS_K}: "
                                                      "a group of one is the client")
        return value

    def backup_grace(self, table: Mapping[str, Any]) -> Duration:
        """``[retention] backup_grace``: how long a key-store backup may still unwrap the data keys in it.

        A day at least (the job that replaces the key-encryption key runs daily), at most
        ``MAX_BACKUP_GRACE_DAYS`` in the longest case (P3M is 92 days from 1 July); the default when
        absent is ``DEFAULT_BACKUP_GRACE``."""
        if "backup_grace" not in table:
            return DEFAULT_BACKUP_GRACE
        grace = self.duration(table, "backup_grace", "retention")
        longest = max((grace.after(start) - start).days for start in (dt.date(2027, 7, 1), dt.date(2028, 1, 31)))
        if not 1 <= longest <= MAX_BACKUP_GRACE_DAYS:
            raise self.fail("retention.backup_grace", f"must be at most {MAX_BACKUP_GRACE_DAYS} days: a key-store "
                                                      "backup restores destroyed files for that long")
        return grace

    def reporting(self, table: Mapping[str, Any]) -> Reporting:
        """``[reporting]`` (Instrument 2, the monthly report): the intake and care-plan terms counted from a
        client's registration, and the smallest count shown; each optional (see :class:`Reporting`)."""
        self.check_keys(table, "reporting", ("intake", "care_plan", "suppress_below"))
        defaults = Reporting()
        suppress = table.get("suppress_below")
        if suppress is not None and (isinstance(suppress, bool) or not isinstance(suppress, int)
                                     or not 2 <= suppress <= MAX_STATISTICS_K):
            raise self.fail("reporting.suppress_below", f"must be a whole number from 2 to {MAX_STATISTICS_K}")
        return Reporting(
            intake=self.duration(table, "intake", "reporting") if "intake" in table else defaults.intake,
            care_plan=self.duration(table, "care_plan", "reporting") if "care_plan" in table else defaults.care_plan,
            suppress_below=suppress,
        )

    def consents(self, kinds: Mapping, categories: Mapping) -> dict[str, ConsentRule]:
        """``[consents.<code>]``: exchanges that depend on the client's consent; none unless the document
        names some. Each names the party kinds on both sides (``first``, ``second``, not overlapping) and
        the categories it covers."""
        tables = self.table(self.doc.get("consents"), "consents", required=False)
        rules = {}
        for code, table in tables.items():
            place = f"consents.{code}"
            if not _CODE.fullmatch(code):
                raise self.fail(place, "code must be lower case letters, digits, '_' or '-'")
            table = self.table(table, place)
            self.check_keys(table, place, ("name", "first", "second", "categories"))
            first = self.codes(table, "first", place, kinds, "party kind")
            second = self.codes(table, "second", place, kinds, "party kind")
            if not first or not second:
                raise self.fail(place, "names party kinds on both sides (first, second)")
            if first & second:
                raise self.fail(f"{place}.second", "a party kind is on both sides")
            covered = self.codes(table, "categories", place, categories, "category")
            if not covered:
                raise self.fail(f"{place}.categories", "must name at least one category")
            rules[code] = ConsentRule(code=code, name=self.text(table, "name", place), first=first, second=second,
                                      categories=covered)
        return rules

    def terms(self, table: Mapping[str, Any]) -> Terms:
        """``[terms]`` (art. 12-14): the four terms, and whether the Algemene termijnenwet extends them.

        ``access`` may be left out: it is then GDPR art. 12(3)'s one month. The others are the covenant's own.
        """
        self.check_keys(table, "terms", _TERMS + ("algemene_termijnenwet",))
        durations = {key: self.duration(table, key, "terms") for key in _TERMS if key != "access" or key in table}
        return Terms(**{"access": GDPR_ACCESS_TERM, **durations},
                     algemene_termijnenwet=self.flag(table, "algemene_termijnenwet", "terms", default=False))

    def emergency(self, table: Mapping[str, Any]) -> Emergency:
        """``[emergency]``: break-the-glass, off unless the document switches it on."""
        if not table:
            return Emergency()
        self.check_keys(table, "emergency", ("enabled", "window"))
        enabled = self.flag(table, "enabled", "emergency")
        value = table.get("window")
        try:
            window = parse_window(value)
        except ValueError as exc:
            raise self.fail("emergency.window", "missing" if value is None else str(exc)) from None
        if window <= dt.timedelta(0):
            raise self.fail("emergency.window", "must be longer than zero")
        if window > MAX_EMERGENCY_WINDOW:
            raise self.fail("emergency.window", "must be at most PT24H: break-the-glass is for an emergency, "
                                                "lasting care needs a care-team link")
        return Emergency(enabled=enabled, window=window)

    def entry_kind(self, code: str, table: Mapping[str, Any], domains, parties) -> EntryKind:
        place = f"entry_kinds.{code}"
        self.check_keys(table, place, ("name", "fields", "last_contact_field"))
        fields_table = self.table(table.get("fields"), f"{place}.fields")
        if not fields_table:
            raise self.fail(f"{place}.fields", "must define at least one field (art. 6)")
        field_types = {t.value: t for t in FieldType}
        fields = {}
        for name, spec in fields_table.items():
            fplace = f"{place}.fields.{name}"
            if not _CODE.fullmatch(name):
                raise self.fail(fplace, "field name must be lower case letters, digits or '_'")
            spec = self.table(spec, fplace)
            self.check_keys(spec, fplace, ("type", "required", "max_length", "choices"))
            type_name = self.text(spec, "type", fplace)
            if type_name not in field_types:
                raise self.fail(f"{fplace}.type", f"unknown field type {type_name!r} (known: {', '.join(field_types)})")
            field_type = field_types[type_name]
            max_length = spec.get("max_length")
            if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                           or max_length < 1):
                raise self.fail(f"{fplace}.max_length", "must be a positive whole number")
            if max_length is not None and field_type is not FieldType.TEXT:
                raise self.fail(f"{fplace}.max_length", "only text fields have a maximum length")
            choices: frozenset[str] = frozenset()
            if field_type is FieldType.CHOICE:
                raw = spec.get("choices")
                if not isinstance(raw, list) or not raw or not all(isinstance(c, str) and c for c in raw):
                    raise self.fail(f"{fplace}.choices", "a choice field needs a non-empty list of strings")
                choices = frozenset(raw)
            elif "choices" in spec:
                raise self.fail(f"{fplace}.choices", "only choice fields have choices")
            fields[name] = FieldSpec(
                name=name,
                type=field_type,
                required=self.flag(spec, "required", fplace),
                max_length=max_length,
                choices=choices,
            )
        last_contact = table.get("last_contact_field")
        if last_contact is not None and (last_contact not in fields or fields[last_contact].type is not FieldType.DATE):
            raise self.fail(f"{place}.last_contact_field", "must name a date field of this entry kind (art. 9.3)")
        return EntryKind(code=code, name=self.text(table, "name", place), fields=frozen_mapping(fields),
                         last_contact_field=last_contact)


def _digest(document: Mapping[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


__all__ = ["CovenantError", "load_covenant", "parse_covenant", "read_document", "parse_duration", "parse_window"]
