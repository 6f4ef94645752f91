from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EntryCreate(BaseModel):
    """A new entry. ``content`` must fit the data set of its ``kind`` in the covenant (art. 6)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=64, description="intake, care_plan, note or contact (the covenant's entry kinds)")
    category: str = Field(max_length=64, description="ordinary, special or criminal (art. 3)")
    content: dict[str, Any] = Field(description="The entry's fields, as the covenant's data set for the kind says")
    source_reference: str | None = Field(default=None, max_length=200,
                                         description="The source party's own reference for this item")
    confidentiality_ground: str | None = Field(default=None, max_length=64,
                                               description="An art. 12 ground to keep it from the client's copy")


class EntryCreated(BaseModel):
    id: uuid.UUID


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    category: str
    source_party: str
    source_reference: str | None
    confidentiality_ground: str | None
    purpose: str
    content: dict[str, Any]
    created_at: dt.datetime
    created_by: uuid.UUID
