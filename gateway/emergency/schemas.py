from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.emergency.service import MAX_NOTE, MAX_REASON, MIN_REASON


class EmergencyOpen(BaseModel):
    """Why the file must be opened now, without a care-team link."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=MIN_REASON, max_length=MAX_REASON, description=(
        "The emergency, in words a privacy officer can review; free text that may say something about "
        "the client, so it is encrypted with the client's key and never echoed in an error"))


class EmergencyOpened(BaseModel):
    id: uuid.UUID
    until: dt.datetime = Field(description="Exclusive: from this moment the window no longer opens the file")


class EmergencyReview(BaseModel):
    """A privacy officer's finding on an emergency window."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["justified", "unjustified"]
    note: str = Field(min_length=1, max_length=MAX_NOTE, description=(
        "Why; encrypted with the client's key like the reason"))


class EmergencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    client_pseudonym: str
    staff_id: uuid.UUID
    party: str = Field(description="The staff member's party")
    reason: str
    since: dt.datetime
    until: dt.datetime = Field(description="Exclusive")
    reviewed_at: dt.datetime | None
    reviewed_by: uuid.UUID | None
    review_outcome: Literal["justified", "unjustified"] | None
    review_note: str | None
