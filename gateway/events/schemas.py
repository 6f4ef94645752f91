from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class ContactEvent(BaseModel):
    """The client had contact with the reporting party on ``date`` (art. 9.3: the five-year term runs
    from the client's last contact with any party)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["contact"]
    date: dt.date = Field(description="The day of the contact, where the covenant's dates fall; not in the future")


class SourceDeletedEvent(BaseModel):
    """The reporting party deleted the item with ``source_reference`` in its own system; the gateway
    destroys the entries it holds from that party under that reference."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["source_deleted"]
    source_reference: str = Field(min_length=1, max_length=200,
                                  description="The party's own reference, as given when the entries were written")


EventCreate = Annotated[Union[ContactEvent, SourceDeletedEvent], Field(discriminator="type")]


class EventRecorded(BaseModel):
    id: uuid.UUID = Field(description="The id of the event's audit record")
    type: str
    entries_destroyed: int | None = Field(default=None, description="For source_deleted: how many entries went")
