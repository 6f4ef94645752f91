from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from gateway.rights.service import MAX_TEXT

_Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
_RECEIVED = Field(default=None, description=(
    "The day the client made the request (ISO 8601 date); today, in the covenant's time zone, when "
    "left out. Not in the future, not before the client was registered"))


class AccessCreate(BaseModel):
    """Art. 11-12: the client asks to see their data."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["access"]
    received_at: dt.date | None = _RECEIVED


class CorrectionCreate(BaseModel):
    """Art. 13: the client asks to have an entry improved, completed, deleted or shielded."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["correction"]
    received_at: dt.date | None = _RECEIVED
    entry_id: uuid.UUID
    correction: Literal["improve", "complete", "delete", "shield"]
    statement: _Text = Field(description="What the client says; encrypted with the client's key, never echoed")


class ObjectionCreate(BaseModel):
    """Art. 14: the client objects to the processing of their data."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["objection"]
    received_at: dt.date | None = _RECEIVED
    grounds: _Text = Field(description="The client's grounds; encrypted with the client's key, never echoed")


RequestCreate = Annotated[Union[AccessCreate, CorrectionCreate, ObjectionCreate], Field(discriminator="kind")]


class DecisionCreate(BaseModel):
    """A written, reasoned decision (art. 13: a refusal is reasoned; art. 14)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["granted", "granted_in_part", "refused", "justified", "unjustified"] = Field(description=(
        "access and correction: granted, granted_in_part or refused; objection: justified or unjustified"))
    reasons: _Text = Field(description="The reasons, as the letter to the client gives them; encrypted")
    correction: Literal["improve", "complete", "delete", "shield"] | None = Field(default=None, description=(
        "A correction granted (in part): what will be done; what was asked when left out"))


class CarryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: dict[str, Any] | None = Field(default=None, description=(
        "improve: the entry's new content; complete: what is added to it (text fields are appended to); "
        "checked against the entry kind's data set (art. 6)"))


class Reversal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: _Text


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    party: str
    entry_id: uuid.UUID
    correction: str
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None


class RequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    status: str
    received_at: dt.date
    decision_due: dt.date
    execution_due: dt.date | None
    due: dt.date | None = Field(description="The next deadline while one is running")
    due_soon: bool
    late: bool = Field(description="Decided or carried out after its deadline, or a deadline passed")
    entry_id: uuid.UUID | None
    correction: str | None
    statement: str | None = Field(description="A correction's statement or an objection's grounds")
    recorded_by: uuid.UUID
    recorded_at: dt.datetime
    reviewed_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_on: dt.date | None
    decided_by: uuid.UUID | None
    outcome: str | None
    reasons: str | None
    carry_out: str | None = Field(description="A granted correction: what will be (or was) done")
    copy_produced_at: dt.datetime | None
    carried_out_at: dt.datetime | None
    closed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    reversed_at: dt.datetime | None
    reversal_reasons: str | None
    notifications: list[NotificationRead] = Field(description="GDPR art. 19: parties told of the correction")


class QueueItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    client_pseudonym: str
    kind: str
    status: str
    received_at: dt.date
    decision_due: dt.date
    execution_due: dt.date | None
    due: dt.date | None
    due_soon: bool
    late: bool
