from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class StatisticsDecisionRead(BaseModel):
    """The controller's decision to keep a de-identified extract of the client (art. 9.4-9.5)."""

    id: uuid.UUID
    client_id: uuid.UUID
    term_ends_on: dt.date = Field(description="The day the client's retention term ends (art. 9.3), as of the decision")
    decided_at: dt.datetime
    already: bool = Field(description="The decision had been recorded before; this call changed nothing")
