"""Which covenant version is in force at a moment, as this gateway instance knows it.

The versions that came (or will come) into force are read from ``covenant_version`` and kept in memory,
ordered by ``effective_at``; the version in force at a moment is the last one whose ``effective_at`` is
not after it. So decisions switch at the exact moment a version takes effect, also for a version
approved earlier with a later ``effective_from``.

Other instances of the gateway on the same database learn of a new version by re-reading the table:
this instance re-reads it at once when an approval it handled completes a version, and otherwise when
its copy is older than ``refresh_seconds`` (default 5, ``GATEWAY_COVENANT_REFRESH_SECONDS``), measured
on the monotonic clock, so a step of the wall clock neither delays nor hurries it. A version approved on
another instance is thus used here at most that many seconds late; one with an ``effective_from``
given at least that long in advance is used from its exact moment everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
import uuid
from typing import Callable, NamedTuple

from sqlalchemy import Engine, select

from covenant import Covenant, parse_covenant
from gateway.covenants.models import CovenantVersion
from gateway.errors import GatewayError

DEFAULT_REFRESH_SECONDS = 5.0
_table = CovenantVersion.__table__


class CovenantNotInForce(GatewayError):
    """No version of the covenant is in force: nothing is decided, nothing served (fail closed)."""

    status_code = 503
    slug = "covenant-not-in-force"
    title = "No covenant in force"

    def __init__(self) -> None:
        super().__init__("no version of the covenant is in force: every party must approve one first "
                         "(gateway covenant status)")


class Effective(NamedTuple):
    effective_at: dt.datetime
    id: uuid.UUID
    covenant: Covenant


def covenant_of(row) -> Covenant:
    """The :class:`Covenant` of a stored version; its ``digest`` is the version's (of the canonical document)."""
    covenant = parse_covenant(json.loads(row.document), source=f"{row.covenant_id}@{row.version}")
    return dataclasses.replace(covenant, digest=row.digest)


class CovenantVersions:
    def __init__(self, engine: Engine, *, refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self.monotonic = monotonic
        self._effective: tuple[Effective, ...] = ()
        self._parsed: dict[uuid.UUID, Covenant] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def remember(self, version_id: uuid.UUID, covenant: Covenant) -> None:
        """A version this instance has just parsed (it need not parse the stored document again)."""
        self._parsed[version_id] = covenant

    def refresh(self) -> None:
        """Re-read the versions that have an ``effective_at``."""
        query = (select(_table.c.id, _table.c.covenant_id, _table.c.version, _table.c.document, _table.c.digest,
                        _table.c.effective_at)
                 .where(_table.c.effective_at.is_not(None))
                 .order_by(_table.c.effective_at, _table.c.proposed_at))
        with self._lock:
            started = self.monotonic()
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            effective = []
            for row in rows:
                covenant = self._parsed.get(row.id)
                if covenant is None:
                    covenant = self._parsed[row.id] = covenant_of(row)
                effective.append(Effective(row.effective_at, row.id, covenant))
            self._effective = tuple(effective)
            self._loaded_at = started

    def _current(self) -> tuple[Effective, ...]:
        loaded = self._loaded_at
        if loaded is None or self.monotonic() - loaded >= self.refresh_seconds:
            self.refresh()
        return self._effective

    def effective_at(self, moment: dt.datetime) -> Effective | None:
        """The version in force at ``moment`` with its id and since when, or None."""
        for item in reversed(self._current()):
            if item.effective_at <= moment:
                return item
        return None

    def at(self, moment: dt.datetime) -> Covenant | None:
        """The covenant version in force at ``moment``, or None when none is."""
        found = self.effective_at(moment)
        return found.covenant if found is not None else None
