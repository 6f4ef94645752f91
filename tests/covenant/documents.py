"""The shipped covenant documents as parsed TOML, for tests that change one thing at a time."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import policies


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


_MODEL = _read(policies.MODEL_COVENANT)
_REGION = _read(policies.DEMO_REGION)


def model_document() -> dict[str, Any]:
    """A fresh copy of the model covenant document."""
    return copy.deepcopy(_MODEL)


def region_document() -> dict[str, Any]:
    """The demo region merged over the model as ``extends`` merges: its tables replace the model's."""
    merged = model_document()
    region = copy.deepcopy(_REGION)
    del region["extends"]
    merged.update(region)
    return merged
