"""The event catalogue (docs/audit-events.md) lists every action the trail records, so that a new
action cannot go undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from audit import AuditAction

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "audit-events.md"


def _section(title: str) -> str:
    text = CATALOGUE.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _first_column(section: str) -> set[str]:
    return {name for row in section.splitlines() if row.startswith("| `")
            for name in re.findall(r"`([a-z_.]+)`", row.split("|")[1])}


def test_every_action_is_in_the_catalogue():
    documented = _first_column(_section("Actions in use"))
    missing = sorted(action.value for action in AuditAction if action.value not in documented)
    assert not missing, f"add these actions to {CATALOGUE.name}: {missing}"


def test_the_catalogue_lists_no_action_the_trail_does_not_know():
    unknown = _first_column(_section("Actions in use")) - {action.value for action in AuditAction}
    assert not unknown, f"{CATALOGUE.name} lists actions that are not in AuditAction: {sorted(unknown)}"


def test_a_reserved_action_moves_to_the_table_once_it_is_recorded():
    reserved = _first_column(_section("Reserved"))
    assert not reserved & {action.value for action in AuditAction}


def test_the_catalogue_says_what_no_event_holds():
    assert "No event holds record content, a client's name or BSN" in _section("What no event holds")
