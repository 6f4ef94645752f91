from __future__ import annotations

import datetime as dt
import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.informing.service import How


class InformedCreate(BaseModel):
    """Art. 10: how the client was informed, and when (now by default)."""

    model_config = ConfigDict(extra="forbid")

    how: How = Field(description="`in_person`, `letter` or `other`")
    informed_at: AwareDatetime | None = Field(default=None, description="When; now when left out; not in the future")


class InformedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: uuid.UUID
    informed_at: dt.datetime
    how: str
    informed_by: uuid.UUID
    tasks_closed: int = Field(description="The client's open tasks this closed")


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    kind: str = Field(description="`inform_client`: a partner's data arrived before the client was informed")
    source_party: str
    entry_id: uuid.UUID | None
    created_at: dt.datetime
    closed_at: dt.datetime | None
