"""The statistics decision and the de-identified extract (art. 9.4-9.5).

``statistics_decision`` is about a client and goes with the client: :func:`gateway.statistics.service.
take_extract` consumes it when the client's file is destroyed. ``statistics_extract`` is what remains:
rows with no client id, no pseudonym, no name, BSN, free text or exact date, each standing for a group of
at least ``[retention] statistics_k`` clients (see :mod:`gateway.statistics.extract`); ``statistics_held``
the de-identified rows still waiting for their group. Nothing joins an
extract row to a client, and no client-facing route reads it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class StatisticsDecision(Base):
    """The controller decided, before the client's term ended, to keep a de-identified extract.

    ``term_ends_on``: the end of the term the decision was taken before (art. 9.4: "before the term
    ends"); a later contact moves the term, and the decision stands. One per client.
    """

    __tablename__ = "statistics_decision"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("client.id"), unique=True)
    decided_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    term_ends_on: Mapped[dt.date] = mapped_column(Date)


class _Row:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    registered: Mapped[str] = mapped_column(String(8))
    last_contact: Mapped[str] = mapped_column(String(8))
    party_kinds: Mapped[str] = mapped_column(String(400))
    entries: Mapped[str] = mapped_column(String(8))
    entries_ordinary: Mapped[str] = mapped_column(String(8))
    entries_special: Mapped[str] = mapped_column(String(8))
    entries_criminal: Mapped[str] = mapped_column(String(8))
    objection: Mapped[bool] = mapped_column(Boolean)


class StatisticsExtract(_Row, Base):
    """One de-identified client, generalised until its group holds at least k clients.

    Quasi-identifiers (what someone who knew the client could match on), generalised at ``level``
    (0: quarters and party kinds; up to 4: nothing but ``*``): ``registered`` and ``last_contact`` (a
    quarter ``2031-Q2``, a year ``2031`` or ``*``), ``party_kinds`` (the kinds of party in the care
    team, sorted and joined by ``+``, or ``*``). What the file held, in bands, never exact counts:
    ``entries`` and per category. ``objection``: processing was stopped by a justified objection.
    No id of the client, no date: the row's own id is random and it has no moment of its own.
    """

    __tablename__ = "statistics_extract"


class StatisticsHeld(_Row, Base):
    """A de-identified client (level 0) whose group has not reached k yet: not part of the extract, read
    by nothing but :mod:`gateway.statistics`; kept once its group forms, suppressed once it cannot."""

    __tablename__ = "statistics_held"
