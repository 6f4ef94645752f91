"""Loading and validating covenant documents: the shipped ones load, every fault names its file and place."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from typing import Any

import pytest

import policies
from covenant import CovenantError, Duration, load_covenant, parse_covenant, parse_duration
from tests.covenant.documents import model_document, region_document

Mutation = Callable[[dict[str, Any]], None]


def _parent(doc: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def setting(*path: str, to: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        _parent(doc, path)[path[-1]] = to
    return mutate


def deleting(*path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        del _parent(doc, path)[path[-1]]
    return mutate


def renaming(*path: str, to: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        parent = _parent(doc, path)
        parent[to] = parent.pop(path[-1])
    return mutate


# --- the shipped documents ---------------------------------------------------------------------------


def test_model_covenant_loads_with_its_terms() -> None:
    model = load_covenant(policies.MODEL_COVENANT)

    assert model.label == "model-covenant@2006.1"
    assert model.controller == "municipality"
    assert set(model.categories) == {"ordinary", "special", "criminal"}
    assert len(model.party_kinds) == 13  # art. 2, and the care office of the consent exchange
    assert set(model.parties) == set(model.party_kinds)  # one "pm" placeholder per kind
    # Art. 12-14 and 9.3, as the model states them.
    assert model.terms.access == Duration(months=1)
    assert model.terms.correction_decision == Duration(days=14)
    assert model.terms.correction_execution == Duration(days=14)
    assert model.terms.objection_decision == Duration(days=28)
    assert model.retention.after_last_contact == Duration(years=5)
    assert model.retention.statistics_k == 5
    assert model.retention.backup_grace == Duration(days=30)
    police = model.party_kinds["police"]
    assert (police.criminal_justice, police.read, police.write) == (
        True, {"ordinary", "criminal"}, {"ordinary", "criminal"})
    assert model.party_kinds["housing"].read == {"ordinary"}
    assert set(model.entry_kinds) == {"intake", "care_plan", "note", "contact"}
    assert model.entry_kinds["care_plan"].fields["item"].choices == {"goal", "action"}
    assert model.entry_kinds["note"].fields["text"].max_length == 20000


def test_demo_region_replaces_the_parties_and_inherits_the_rest() -> None:
    model = load_covenant(policies.MODEL_COVENANT)
    region = load_covenant(policies.DEMO_REGION)

    assert region.label == "demo-region@1"
    assert region.controller == "gemeente-demostad"
    assert {code: party.kind for code, party in region.parties.items()} == {
        "opvang-de-haven": "shelter",
        "ggz-rivierland": "mental_health",
        "politie-eenheid-demo": "police",
        "om-demostad": "prosecution",
        "zorgkantoor-demo": "care_office",
        "gemeente-demostad": "municipality",
    }
    assert region.party_kinds == model.party_kinds
    assert region.purposes == model.purposes
    assert region.categories == model.categories
    assert region.terms == model.terms
    assert region.retention == model.retention
    assert region.confidentiality_grounds == model.confidentiality_grounds
    assert region.life_domains == model.life_domains
    assert region.entry_kinds == model.entry_kinds


def test_extends_merges_like_replacing_top_level_tables() -> None:
    assert parse_covenant(region_document(), source="demo-region.toml") == load_covenant(policies.DEMO_REGION)


def test_digest_is_stable_for_the_same_document() -> None:
    first = load_covenant(policies.DEMO_REGION)
    again = load_covenant(policies.DEMO_REGION)
    parsed = parse_covenant(region_document(), source="elsewhere.toml")

    assert re.fullmatch(r"[0-9a-f]{64}", first.digest)
    assert again.digest == first.digest
    assert parsed.digest == first.digest  # the digest is of the content, not of the file name
    assert load_covenant(policies.MODEL_COVENANT).digest != first.digest


def test_digest_changes_with_any_change_to_the_document() -> None:
    changed = region_document()
    changed["party_kinds"]["housing"]["name"] = "Woningbouwvereniging"

    assert parse_covenant(changed).digest != load_covenant(policies.DEMO_REGION).digest


# --- faults in the document --------------------------------------------------------------------------

def fault(case_id: str, mutate: Mutation, place: str, fragment: str) -> Any:
    return pytest.param(mutate, place, fragment, id=case_id)


CRIMINAL_ONLY = "only for criminal-justice parties"
NOT_A_DURATION = "not an ISO 8601 duration"
NEEDS_CHOICES = "a choice field needs a non-empty list of strings"
POSITIVE = "must be a positive whole number"

FAULTS = [
    # Art. 8.1b: the read and write lists name categories of this covenant, once each.
    fault("read-unknown-category", setting("party_kinds", "police", "read", to=["ordinary", "secret"]),
          "party_kinds.police.read[1]", "unknown category 'secret'"),
    fault("write-unknown-category", setting("party_kinds", "housing", "write", to=["health"]),
          "party_kinds.housing.write[0]", "unknown category 'health'"),
    fault("category-twice", setting("party_kinds", "shelter", "read", to=["ordinary", "special", "ordinary"]),
          "party_kinds.shelter.read[2]", "category 'ordinary' is listed twice"),
    fault("read-not-a-list", setting("party_kinds", "police", "read", to="ordinary"),
          "party_kinds.police.read", "must be a list"),
    fault("write-missing", deleting("party_kinds", "police", "write"),
          "party_kinds.police.write", "missing"),
    # Art. 5: criminal data only for criminal-justice parties.
    fault("criminal-read-for-shelter",
          setting("party_kinds", "shelter", "read", to=["ordinary", "special", "criminal"]),
          "party_kinds.shelter.read", CRIMINAL_ONLY),
    fault("criminal-write-for-housing", setting("party_kinds", "housing", "write", to=["criminal"]),
          "party_kinds.housing.write", "(art. 5)"),
    fault("police-not-criminal-justice", setting("party_kinds", "police", "criminal_justice", to=False),
          "party_kinds.police.read", CRIMINAL_ONLY),
    fault("criminal-justice-missing", deleting("party_kinds", "police", "criminal_justice"),
          "party_kinds.police.criminal_justice", "missing"),
    fault("criminal-justice-not-bool", setting("party_kinds", "police", "criminal_justice", to="yes"),
          "party_kinds.police.criminal_justice", "must be true or false"),
    # Art. 2 and 7: parties are of a known kind; the controller is one of them.
    fault("party-unknown-kind", setting("parties", "police", "kind", to="army"),
          "parties.police.kind", "unknown party kind 'army'"),
    fault("controller-not-a-party", setting("covenant", "controller", to="province"),
          "covenant.controller", "names no party of this covenant: 'province'"),
    # Art. 3: the three core categories.
    fault("no-ordinary-category", deleting("categories", "ordinary"),
          "categories", "must define the category 'ordinary' (art. 3)"),
    fault("no-special-category", deleting("categories", "special"),
          "categories", "must define the category 'special' (art. 3)"),
    fault("no-criminal-category", deleting("categories", "criminal"),
          "categories", "must define the category 'criminal' (art. 3)"),
    # Unknown keys are refused at every level, so that a misspelt rule is never silently ignored.
    fault("unknown-top-level-key", setting("parties_extra", to={}), "parties_extra", "unknown key"),
    fault("extends-left-for-parse", setting("extends", to="model-covenant.toml"), "extends", "unknown key"),
    fault("unknown-key-covenant", setting("covenant", "owner", to="x"), "covenant.owner", "unknown key"),
    fault("unknown-key-party-kind", setting("party_kinds", "police", "delete", to=["ordinary"]),
          "party_kinds.police.delete", "unknown key"),
    fault("unknown-key-party", setting("parties", "police", "email", to="x@example.org"),
          "parties.police.email", "unknown key"),
    fault("unknown-key-purpose", setting("purposes", "wellbeing", "scope", to="x"),
          "purposes.wellbeing.scope", "unknown key"),
    fault("unknown-key-category", setting("categories", "ordinary", "description", to="x"),
          "categories.ordinary.description", "unknown key"),
    fault("unknown-key-terms", setting("terms", "appeal_decision", to="P14D"),
          "terms.appeal_decision", "unknown key"),
    fault("unknown-key-retention", setting("retention", "after_closure", to="P1Y"),
          "retention.after_closure", "unknown key"),
    fault("unknown-key-code-list", setting("life_domains", "income", "description", to="x"),
          "life_domains.income.description", "unknown key"),
    fault("unknown-key-entry-kind", setting("entry_kinds", "note", "label", to="x"),
          "entry_kinds.note.label", "unknown key"),
    fault("unknown-key-field", setting("entry_kinds", "note", "fields", "text", "default", to="x"),
          "entry_kinds.note.fields.text.default", "unknown key"),
    # Art. 9.3 and 12-14: terms are positive ISO 8601 durations.
    fault("term-not-a-duration", setting("terms", "access", to="one month"), "terms.access", NOT_A_DURATION),
    fault("term-in-hours", setting("terms", "correction_decision", to="PT336H"),
          "terms.correction_decision", NOT_A_DURATION),
    fault("term-a-number", setting("terms", "objection_decision", to=28),
          "terms.objection_decision", NOT_A_DURATION),
    fault("term-zero", setting("terms", "correction_execution", to="P0D"),
          "terms.correction_execution", "must be longer than zero"),
    fault("term-missing", deleting("terms", "correction_decision"), "terms.correction_decision", "missing"),
    fault("atw-not-bool", setting("terms", "algemene_termijnenwet", to="yes"),
          "terms.algemene_termijnenwet", "must be true or false"),
    fault("retention-zero", setting("retention", "after_last_contact", to="P0Y0M"),
          "retention.after_last_contact", "must be longer than zero"),
    fault("retention-not-a-duration", setting("retention", "after_last_contact", to="5 years"),
          "retention.after_last_contact", NOT_A_DURATION),
    # Art. 9.4-9.5: a kept extract row stands for a group of at least k clients; a group of one is the client.
    fault("statistics-k-one", setting("retention", "statistics_k", to=1), "retention.statistics_k",
          "must be at least 2"),
    fault("statistics-k-zero", setting("retention", "statistics_k", to=0), "retention.statistics_k",
          "must be at least 2"),
    fault("statistics-k-huge", setting("retention", "statistics_k", to=1001), "retention.statistics_k",
          "at most 1000"),
    fault("statistics-k-text", setting("retention", "statistics_k", to="5"), "retention.statistics_k",
          "must be a whole number"),
    fault("statistics-k-bool", setting("retention", "statistics_k", to=True), "retention.statistics_k",
          "must be a whole number"),
    fault("statistics-k-float", setting("retention", "statistics_k", to=5.0), "retention.statistics_k",
          "must be a whole number"),
    # Crypto-shredding: a key-store backup may unwrap destroyed files' keys for at most a quarter.
    fault("backup-grace-long", setting("retention", "backup_grace", to="P4M"), "retention.backup_grace",
          "at most 92 days"),
    fault("backup-grace-93-days", setting("retention", "backup_grace", to="P93D"), "retention.backup_grace",
          "at most 92 days"),
    fault("backup-grace-zero", setting("retention", "backup_grace", to="P0D"), "retention.backup_grace",
          "must be longer than zero"),
    fault("backup-grace-not-a-duration", setting("retention", "backup_grace", to="30 days"),
          "retention.backup_grace", NOT_A_DURATION),
    # Art. 4: purposes name known actions and roles.
    fault("purpose-unknown-action",
          setting("purposes", "wellbeing", "actions", to=["record.read", "record.delete"]),
          "purposes.wellbeing.actions[1]", "unknown action 'record.delete'"),
    fault("purpose-action-twice",
          setting("purposes", "wellbeing", "actions", to=["record.read", "record.read"]),
          "purposes.wellbeing.actions[1]", "action 'record.read' is listed twice"),
    fault("purpose-actions-missing", deleting("purposes", "wellbeing", "actions"),
          "purposes.wellbeing.actions", "missing"),
    fault("purpose-unknown-role",
          setting("purposes", "subject_rights", "roles", to=["client_manager", "mayor"]),
          "purposes.subject_rights.roles[1]", "unknown role 'mayor'"),
    fault("purpose-article-missing", deleting("purposes", "oversight", "article"),
          "purposes.oversight.article", "missing"),
    # Art. 6: each entry kind has a fixed data set of well-formed fields.
    fault("entry-kind-without-fields-table", deleting("entry_kinds", "note", "fields"),
          "entry_kinds.note.fields", "missing table"),
    fault("entry-kind-no-fields", setting("entry_kinds", "note", "fields", to={}),
          "entry_kinds.note.fields", "must define at least one field (art. 6)"),
    fault("unknown-field-type", setting("entry_kinds", "note", "fields", "text", "type", to="number"),
          "entry_kinds.note.fields.text.type", "unknown field type 'number'"),
    fault("field-type-missing", deleting("entry_kinds", "note", "fields", "text", "type"),
          "entry_kinds.note.fields.text.type", "missing"),
    fault("max-length-on-date",
          setting("entry_kinds", "contact", "fields", "contact_on", "max_length", to=10),
          "entry_kinds.contact.fields.contact_on.max_length", "only text fields have a maximum length"),
    fault("last-contact-field-not-a-date", setting("entry_kinds", "contact", "last_contact_field", to="text"),
          "entry_kinds.contact.last_contact_field", "must name a date field of this entry kind (art. 9.3)"),
    fault("last-contact-field-unknown", setting("entry_kinds", "note", "last_contact_field", to="met_on"),
          "entry_kinds.note.last_contact_field", "must name a date field of this entry kind (art. 9.3)"),
    fault("max-length-zero", setting("entry_kinds", "note", "fields", "text", "max_length", to=0),
          "entry_kinds.note.fields.text.max_length", POSITIVE),
    fault("max-length-bool", setting("entry_kinds", "note", "fields", "text", "max_length", to=True),
          "entry_kinds.note.fields.text.max_length", POSITIVE),
    fault("max-length-string", setting("entry_kinds", "note", "fields", "text", "max_length", to="100"),
          "entry_kinds.note.fields.text.max_length", POSITIVE),
    fault("choice-without-choices", deleting("entry_kinds", "care_plan", "fields", "item", "choices"),
          "entry_kinds.care_plan.fields.item.choices", NEEDS_CHOICES),
    fault("choice-empty-choices", setting("entry_kinds", "care_plan", "fields", "item", "choices", to=[]),
          "entry_kinds.care_plan.fields.item.choices", NEEDS_CHOICES),
    fault("choice-empty-string",
          setting("entry_kinds", "care_plan", "fields", "item", "choices", to=["goal", ""]),
          "entry_kinds.care_plan.fields.item.choices", NEEDS_CHOICES),
    fault("choice-not-a-string",
          setting("entry_kinds", "care_plan", "fields", "item", "choices", to=["goal", 1]),
          "entry_kinds.care_plan.fields.item.choices", NEEDS_CHOICES),
    fault("choices-on-text", setting("entry_kinds", "note", "fields", "text", "choices", to=["a", "b"]),
          "entry_kinds.note.fields.text.choices", "only choice fields have choices"),
    fault("required-not-bool", setting("entry_kinds", "note", "fields", "text", "required", to="yes"),
          "entry_kinds.note.fields.text.required", "must be true or false"),
    fault("required-one", setting("entry_kinds", "note", "fields", "text", "required", to=1),
          "entry_kinds.note.fields.text.required", "must be true or false"),
    fault("required-missing", deleting("entry_kinds", "note", "fields", "text", "required"),
          "entry_kinds.note.fields.text.required", "missing"),
    # Codes are lower case, so that they compare and audit the same everywhere.
    fault("party-code-upper-case", renaming("parties", "police", to="Police"),
          "parties.Police", "code must be lower case"),
    fault("kind-code-upper-case", renaming("party_kinds", "housing", to="Housing"),
          "party_kinds.Housing", "code must be lower case"),
    fault("purpose-code-leading-digit", renaming("purposes", "income", to="1income"),
          "purposes.1income", "code must be lower case"),
    fault("domain-code-space", renaming("life_domains", "daily_living", to="daily living"),
          "life_domains.daily living", "code must be lower case"),
    fault("field-name-upper-case", renaming("entry_kinds", "note", "fields", "text", to="Text"),
          "entry_kinds.note.fields.Text", "field name must be lower case"),
    # Names are required everywhere.
    fault("covenant-name-missing", deleting("covenant", "name"), "covenant.name", "missing"),
    fault("covenant-id-missing", deleting("covenant", "id"), "covenant.id", "missing"),
    fault("party-name-missing", deleting("parties", "police", "name"), "parties.police.name", "missing"),
    fault("kind-name-missing",
          deleting("party_kinds", "prison", "name"), "party_kinds.prison.name", "missing"),
    fault("purpose-name-missing", deleting("purposes", "income", "name"), "purposes.income.name", "missing"),
    fault("category-name-empty", setting("categories", "special", "name", to=""),
          "categories.special.name", "must be a non-empty string"),
    fault("ground-name-blank", setting("confidentiality_grounds", "supervision", "name", to="   "),
          "confidentiality_grounds.supervision.name", "must be a non-empty string"),
    fault("entry-kind-name-missing",
          deleting("entry_kinds", "note", "name"), "entry_kinds.note.name", "missing"),
    # Tables themselves.
    fault("terms-missing", deleting("terms"), "terms", "missing table"),
    fault("covenant-missing", deleting("covenant"), "covenant", "missing table"),
    fault("domains-not-a-table", setting("life_domains", to="income"), "life_domains", "must be a table"),
    fault("no-parties", setting("parties", to={}), "parties", "must define at least one entry"),
    fault("party-not-a-table",
          setting("parties", "police", to="Politie"), "parties.police", "must be a table"),
]


@pytest.mark.parametrize(("mutate", "place", "fragment"), FAULTS)
def test_a_fault_is_named_by_file_and_place(mutate: Mutation, place: str, fragment: str) -> None:
    document = model_document()
    mutate(document)

    with pytest.raises(CovenantError) as caught:
        parse_covenant(document, source="x.toml")

    assert (caught.value.source, caught.value.place) == ("x.toml", place)
    assert fragment in caught.value.problem
    assert str(caught.value) == f"x.toml: {place}: {caught.value.problem}"


def test_the_unmodified_model_document_parses() -> None:
    """The fault table above is only meaningful if the document it mutates is valid to begin with."""
    assert parse_covenant(model_document(), source="x.toml").label == "model-covenant@2006.1"


def test_a_list_inside_a_category_list_is_a_covenant_error() -> None:
    """TOML allows nested arrays; ``read = [["ordinary"]]`` is a fault in the document like any other."""
    document = model_document()
    document["party_kinds"]["police"]["read"] = [["ordinary"]]

    with pytest.raises(CovenantError) as caught:
        parse_covenant(document, source="x.toml")

    assert caught.value.place == "party_kinds.police.read[0]"


# --- faults in the files -----------------------------------------------------------------------------


def test_a_missing_file_is_named() -> None:
    with pytest.raises(CovenantError) as caught:
        load_covenant(policies.POLICIES_DIR / "absent.toml")

    assert str(caught.value) == "absent.toml: file not found"


def test_invalid_toml_is_named(tmp_path) -> None:
    (tmp_path / "broken.toml").write_text('[covenant]\nid = "x\n', encoding="utf-8")

    with pytest.raises(CovenantError) as caught:
        load_covenant(tmp_path / "broken.toml")

    assert str(caught.value).startswith("broken.toml: not valid TOML: ")


def test_a_file_that_is_not_utf8_is_named(tmp_path) -> None:
    """TOML is UTF-8; a file in another encoding is a document fault, reported like invalid TOML."""
    document = '[covenant]\nname = "Gemeente Súdwest-Fryslân"\n'
    (tmp_path / "latin1.toml").write_bytes(document.encode("latin-1"))

    with pytest.raises(CovenantError) as caught:
        load_covenant(tmp_path / "latin1.toml")

    assert str(caught.value) == "latin1.toml: not UTF-8 text"


@pytest.mark.parametrize("base", [
    pytest.param("../model-covenant.toml", id="parent-folder"),
    pytest.param("sub/model-covenant.toml", id="sub-folder"),
    pytest.param("..\\model-covenant.toml", id="backslash"),
    pytest.param(5, id="not-a-string"),
])
def test_extends_must_name_a_document_in_the_same_folder(tmp_path, base: Any) -> None:
    value = f'"{base}"'.replace("\\", "\\\\") if isinstance(base, str) else str(base)
    (tmp_path / "region.toml").write_text(f"extends = {value}\n", encoding="utf-8")

    with pytest.raises(CovenantError) as caught:
        load_covenant(tmp_path / "region.toml")

    assert str(caught.value) == "region.toml: extends: must name a .toml document in the same folder"


def test_extends_to_a_missing_document_names_it(tmp_path) -> None:
    (tmp_path / "region.toml").write_text('extends = "absent.toml"\n', encoding="utf-8")

    with pytest.raises(CovenantError) as caught:
        load_covenant(tmp_path / "region.toml")

    assert str(caught.value) == "absent.toml: file not found"


def test_extends_naming_a_folder_is_a_covenant_error(tmp_path) -> None:
    """``..`` contains no slash, yet names a folder, not a document: a fault, reported as one."""
    (tmp_path / "region.toml").write_text('extends = ".."\n', encoding="utf-8")

    with pytest.raises(CovenantError) as caught:
        load_covenant(tmp_path / "region.toml")

    assert caught.value.source in ("region.toml", "..")


def test_extends_in_a_circle_is_refused(tmp_path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n', encoding="utf-8")

    with pytest.raises(CovenantError) as caught:
        load_covenant(tmp_path / "a.toml")

    assert (caught.value.place, caught.value.problem) == ("extends", "documents extend each other too deeply")


def test_a_region_in_another_folder_extends_the_model_beside_it(tmp_path) -> None:
    shutil.copy(policies.MODEL_COVENANT, tmp_path / "model-covenant.toml")
    (tmp_path / "region.toml").write_text(
        'extends = "model-covenant.toml"\n'
        '[covenant]\nid = "r"\nversion = "2"\nname = "Regio"\ncontroller = "gemeente"\n'
        '[parties.gemeente]\nname = "Gemeente"\nkind = "municipality"\n',
        encoding="utf-8",
    )

    region = load_covenant(tmp_path / "region.toml")

    assert (region.label, list(region.parties)) == ("r@2", ["gemeente"])
    assert region.terms.objection_decision == Duration(days=28)


def test_a_fault_in_a_region_names_the_region_file(tmp_path) -> None:
    shutil.copy(policies.MODEL_COVENANT, tmp_path / "model-covenant.toml")
    (tmp_path / "region.toml").write_text(
        'extends = "model-covenant.toml"\n'
        '[covenant]\nid = "r"\nversion = "2"\nname = "Regio"\ncontroller = "gemeente"\n'
        '[parties.gemeente]\nname = "Gemeente"\nkind = "city_hall"\n',
        encoding="utf-8",
    )

    with pytest.raises(CovenantError) as caught:
        load_covenant(tmp_path / "region.toml")

    assert str(caught.value).startswith("region.toml: parties.gemeente.kind: unknown party kind 'city_hall'")


# --- durations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("P14D", Duration(days=14), id="days"),
    pytest.param("P4W", Duration(days=28), id="weeks-as-days"),
    pytest.param("P2W3D", Duration(days=17), id="weeks-and-days"),
    pytest.param("P1M", Duration(months=1), id="month"),
    pytest.param("P5Y", Duration(years=5), id="years"),
    pytest.param("P1Y2M3D", Duration(years=1, months=2, days=3), id="all"),
    pytest.param("P0D", Duration(), id="zero"),
])
def test_parse_duration(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


def test_a_duration_prints_as_it_was_written() -> None:
    assert [str(parse_duration(text)) for text in ("P1Y2M3D", "P14D", "P5Y", "P0D")] == [
        "P1Y2M3D", "P14D", "P5Y", "P0D"]


@pytest.mark.parametrize("text", [
    pytest.param("P", id="bare-p"),
    pytest.param("14D", id="no-p"),
    pytest.param("PT5H", id="time-part"),
    pytest.param("", id="empty"),
    pytest.param("p14d", id="lower-case"),
    pytest.param(" P14D", id="leading-space"),
    pytest.param("P1D2M", id="wrong-order"),
    pytest.param("P1.5D", id="fraction"),
    pytest.param("P-1D", id="negative"),
    pytest.param(14, id="int"),
    pytest.param(None, id="none"),
    pytest.param(b"P14D", id="bytes"),
    pytest.param(["P14D"], id="list"),
])
def test_parse_duration_rejects(text: Any) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", [
    pytest.param("P14D\n", id="trailing-newline"),
    pytest.param("P\u0661\u0664D", id="arabic-indic-digits"),
])
def test_parse_duration_rejects_what_is_not_iso_8601_text(text: str) -> None:
    """ISO 8601 durations are ASCII digits and designators and nothing after them."""
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


# --- break-the-glass ------------------------------------------------------------------------------------------

def test_the_shipped_covenants_allow_break_the_glass_for_four_hours() -> None:
    import datetime as dt

    for document in (policies.MODEL_COVENANT, policies.DEMO_REGION):
        emergency = load_covenant(document).emergency
        assert (emergency.enabled, emergency.window) == (True, dt.timedelta(hours=4))


def test_without_an_emergency_table_break_the_glass_is_off() -> None:
    document = region_document()
    del document["emergency"]
    assert parse_covenant(document, source="t.toml").emergency.enabled is False


def test_a_region_switches_break_the_glass_off() -> None:
    document = region_document()
    document["emergency"] = {"enabled": False, "window": "PT4H"}
    assert parse_covenant(document, source="t.toml").emergency.enabled is False


@pytest.mark.parametrize(("table", "place", "problem"), [
    ({"enabled": True}, "emergency.window", "missing"),
    ({"enabled": True, "window": "P1D"}, "emergency.window", "not an ISO 8601 duration of hours and minutes"),
    ({"enabled": True, "window": "PT"}, "emergency.window", "not an ISO 8601 duration"),
    ({"enabled": True, "window": "PT0H"}, "emergency.window", "must be longer than zero"),
    ({"enabled": True, "window": "PT25H"}, "emergency.window", "must be at most PT24H"),
    ({"enabled": "yes", "window": "PT4H"}, "emergency.enabled", "must be true or false"),
    ({"window": "PT4H"}, "emergency.enabled", "missing"),
    ({"enabled": True, "window": "PT4H", "reason_required": False}, "emergency.reason_required", "unknown key"),
    ("on", "emergency", "must be a table"),
])
def test_an_invalid_emergency_table_names_its_place(table: Any, place: str, problem: str) -> None:
    document = region_document()
    document["emergency"] = table
    with pytest.raises(CovenantError) as caught:
        parse_covenant(document, source="t.toml")
    assert (caught.value.source, caught.value.place) == ("t.toml", place)
    assert problem in caught.value.problem


def test_windows_are_hours_and_minutes() -> None:
    import datetime as dt

    from covenant import parse_window

    assert parse_window("PT1H30M") == dt.timedelta(hours=1, minutes=30)
    assert parse_window("PT45M") == dt.timedelta(minutes=45)


# --- terms: the access default and the Algemene termijnenwet ------------------------------------------------

def test_the_shipped_covenants_adopt_the_algemene_termijnenwet() -> None:
    for document in (policies.MODEL_COVENANT, policies.DEMO_REGION):
        assert load_covenant(document).terms.algemene_termijnenwet is True


def test_without_the_setting_the_algemene_termijnenwet_does_not_apply() -> None:
    document = region_document()
    del document["terms"]["algemene_termijnenwet"]
    assert parse_covenant(document, source="t.toml").terms.algemene_termijnenwet is False


def test_without_an_access_term_it_is_the_gdprs_month() -> None:
    """GDPR art. 12(3): one month, when the covenant states no access term of its own."""
    document = region_document()
    del document["terms"]["access"]
    assert parse_covenant(document, source="t.toml").terms.access == Duration(months=1)
    document["terms"]["access"] = "P21D"
    assert parse_covenant(document, source="t.toml").terms.access == Duration(days=21)


def test_statistics_k_defaults_to_five_and_may_be_raised() -> None:
    """Art. 9.4-9.5: a covenant that states no ``statistics_k`` gets 5; one that states it gets its own."""
    document = model_document()
    del document["retention"]["statistics_k"]
    assert parse_covenant(document).retention.statistics_k == 5
    document["retention"]["statistics_k"] = 11
    assert parse_covenant(document).retention.statistics_k == 11


def test_backup_grace_defaults_to_thirty_days_and_may_be_a_quarter_at_most() -> None:
    """A covenant that states no ``backup_grace`` gets 30 days; three months is the longest it may state
    (92 days from 1 July), and shorter is always allowed."""
    document = model_document()
    del document["retention"]["backup_grace"]
    assert parse_covenant(document).retention.backup_grace == Duration(days=30)
    document["retention"]["backup_grace"] = "P3M"
    assert parse_covenant(document).retention.backup_grace == Duration(months=3)
    document["retention"]["backup_grace"] = "P1D"
    assert parse_covenant(document).retention.backup_grace == Duration(days=1)


def test_the_retention_term_ends_after_the_last_contact_or_else_the_registration() -> None:
    """Art. 9.3: five years after the last contact; a client with none reported, after the registration."""
    retention = parse_covenant(model_document()).retention
    assert retention.ends_on(dt.date(2026, 3, 1), dt.date(2027, 2, 28)) == dt.date(2032, 2, 28)
    assert retention.ends_on(dt.date(2026, 3, 1), None) == dt.date(2031, 3, 1)
    assert retention.ends_on(dt.date(2024, 2, 29), None) == dt.date(2029, 2, 28)
