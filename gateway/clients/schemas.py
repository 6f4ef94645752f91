from __future__ import annotations

import datetime as dt
import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ClientCreate(BaseModel):
    """A client to register. Neither field is required: a client may be registered before their BSN is
    known, and before they have been informed (art. 10), which is then flagged on their entries."""

    model_config = ConfigDict(extra="forbid")

    bsn: str | None = Field(default=None, max_length=32,
                            description="Burgerservicenummer: nine digits passing the eleven test. Stored only "
                                        "as a keyed hash, for look-ups; never returned")
    informed_at: AwareDatetime | None = Field(default=None, description=(
        "When the client was told the purposes and the controller (art. 10); not in the future"))


class ClientCreated(BaseModel):
    id: uuid.UUID
    pseudonym: str = Field(description="How logs, reports and the audit trail name the client")


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    pseudonym: str
    status: str = Field(description="active, or processing_stopped after a justified objection (art. 14)")
    informed_at: dt.datetime | None = Field(description="When the client was informed (art. 10)")
    client_manager_id: uuid.UUID | None
    registered_at: dt.datetime
    last_contact_at: dt.datetime | None = Field(
        description="The client's last contact with any party; the retention term runs from it (art. 9.3)")
    linked_since: dt.datetime | None = Field(description="Since when the caller's active care-team link runs")
    linked_until: dt.datetime | None = Field(description="Until when it runs, if it ends on a set moment")
