from __future__ import annotations

import datetime as dt
import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ConsentCreate(BaseModel):
    """The client's consent to an exchange the covenant makes depend on it."""

    model_config = ConfigDict(extra="forbid")

    scope: str = Field(min_length=1, max_length=64, description=(
        "The covenant's code of the exchange (`[consents.<code>]`), e.g. `municipality_care_office`"))
    given_at: AwareDatetime | None = Field(default=None, description="When the client gave it; now when left out")


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    scope: str
    given_at: dt.datetime
    recorded_by: uuid.UUID
    recorded_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_by: uuid.UUID | None
    in_force: bool = Field(description="Whether the exchange is open on this consent now")
