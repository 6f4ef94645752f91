"""Art. 6: the data set is fixed per document type; what falls outside it is refused.

Problems name the field and what is wrong with it, never the value: the value is personal data.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from covenant.model import Covenant, EntryKind, FieldSpec, FieldType

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    problem: str


def check_content(covenant: Covenant, kind: EntryKind, content: Mapping[str, Any]) -> list[FieldProblem]:
    """Check an entry's content against its kind's data set; an empty list means it conforms."""
    problems = [FieldProblem(name, "not in the data set of this entry kind (art. 6)")
                for name in content if name not in kind.fields]
    for name, spec in kind.fields.items():
        value = content.get(name)
        if value is None:
            if spec.required:
                problems.append(FieldProblem(name, "required"))
            continue
        problem = _check_value(covenant, spec, value)
        if problem:
            problems.append(FieldProblem(name, problem))
    return problems


def _check_value(covenant: Covenant, spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if spec.type is FieldType.TEXT:
        if not value.strip():
            return "must not be empty"
        if spec.max_length is not None and len(value) > spec.max_length:
            return f"longer than {spec.max_length} characters"
    elif spec.type is FieldType.DATE:
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            dt.date.fromisoformat(value)
        except ValueError:
            return "must be a date as YYYY-MM-DD"
    elif spec.type is FieldType.CHOICE:
        if value not in spec.choices:
            return f"must be one of: {', '.join(sorted(spec.choices))}"
    elif spec.type is FieldType.LIFE_DOMAIN:
        if value not in covenant.life_domains:
            return "must be a life domain code of the covenant"
    elif spec.type is FieldType.PARTY:
        if value not in covenant.parties:
            return "must be a party code of the covenant"
    return None
