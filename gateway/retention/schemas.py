from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from gateway.retention.holds import MAX_REASON, MIN_REASON


class HoldCreate(BaseModel):
    """Why the client's file must outlive its term, and until when."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=MIN_REASON, max_length=MAX_REASON, description=(
        "Why the file is kept (a request or objection still open, a dispute, an order); free text that may "
        "say something about the client, so it is encrypted with the client's key and never echoed in an error"))
    until: dt.date | None = Field(default=None, description=(
        "The last day the hold is in force (inclusive, in the covenant's time zone); none: until released"))


class HoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    reason: str
    placed_by: uuid.UUID
    since: dt.datetime
    until: dt.date | None = Field(validation_alias="until_on", description="Inclusive; none: until released")
    released_at: dt.datetime | None
    released_by: uuid.UUID | None
    in_force: bool = Field(description="Whether the purge skips the client for this hold now")
