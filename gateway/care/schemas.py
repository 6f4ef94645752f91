from __future__ import annotations

import datetime as dt
import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.care.service import MAX_REASON

_REASON = ("Why; free text that may say something about the client, so it is encrypted with the client's "
           "key and never echoed in an error")


class LinkCreate(BaseModel):
    """A staff member to link to the client's care team, from now."""

    model_config = ConfigDict(extra="forbid")

    staff_id: uuid.UUID = Field(description="An active staff member of a covenant party")
    reason: str = Field(min_length=1, max_length=MAX_REASON, description=_REASON)
    until: AwareDatetime | None = Field(default=None, description="When the link ends by itself (exclusive)")


class LinkCreated(BaseModel):
    id: uuid.UUID


class LinkEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON, description=_REASON)


class LinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    staff_id: uuid.UUID
    party: str = Field(description="The staff member's party")
    since: dt.datetime
    until: dt.datetime | None = Field(description="Exclusive: from this moment the member is refused the file")
    active: bool
    granted_by: uuid.UUID | None
    reason: str | None = Field(description="Why the link was granted; shown only to the client's client "
                                            "manager and field directors (it may reveal special data)")
    ended_by: uuid.UUID | None
    end_reason: str | None = Field(description="Why the link was ended; as for reason")
