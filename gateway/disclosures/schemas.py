from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class DisclosureCreate(BaseModel):
    """Art. 5: to which party the criminal entry is disclosed."""

    model_config = ConfigDict(extra="forbid")

    recipient_party: str = Field(min_length=1, max_length=64, description=(
        "The covenant party (its code) whose linked staff may then read the entry; not a criminal-justice "
        "party, which needs no approval"))


class DisclosureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    entry_id: uuid.UUID
    recipient_party: str
    approved_by: uuid.UUID
    approved_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: uuid.UUID | None
    in_force: bool = Field(description="Whether the recipient's linked staff see the entry now")
