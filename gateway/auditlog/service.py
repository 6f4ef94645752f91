"""Review of the audit trail by privacy officers (NEN 7513: who saw which client's data, when, why)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import select

from audit import AuditAction, AuditEvent, Outcome
from audit import query as audit_query
from audit import seal as audit_seal
from audit.checkpoint import public_jwk
from covenant import Action, Resource
from gateway.clients.models import Client
from gateway.errors import BadRequest, Conflict, Forbidden, NotFound
from gateway.transaction import Transaction


class NotSealedYet(Conflict):
    slug = "not-sealed-yet"
    title = "Not sealed yet"

    def __init__(self) -> None:
        super().__init__("the event is not covered by a checkpoint yet; ask again after the next seal")


@dataclass(frozen=True, slots=True)
class EventPage:
    items: Sequence[AuditEvent]
    next_before: int | None


def review_events(tx: Transaction, *, purpose: str, client_id: uuid.UUID | None = None,
                  pseudonym: str | None = None, actor_id: str | None = None, trace_id: str | None = None,
                  before: int | None = None, limit: int = 100) -> EventPage:
    """A page of events, newest first, for a privacy officer.

    A privacy officer of the controller (art. 7) reviews the whole trail and may look a client up by
    id; one of another party reviews what their own party's staff did, asking by pseudonym.
    """
    actor = tx.identify()
    if client_id is not None and pseudonym is not None:
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="query_invalid", purpose=purpose)
        raise BadRequest("ask by client_id or by pseudonym, not both")
    decision = tx.decide(Action.AUDIT_READ, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.AUDIT_READ, decision, purpose=purpose)
        raise tx.refuse(decision)
    controller = actor.subject.party == tx.covenant.controller
    if client_id is not None and not controller:
        # Resolving a client id would tell whether the client exists, and its pseudonym; that is for
        # the controller's privacy officers. Others ask by pseudonym about their own party's staff.
        tx.record(AuditAction.AUDIT_READ, outcome=Outcome.DENY, reason="client_lookup_not_permitted",
                  purpose=purpose)
        raise Forbidden("only the controller's privacy officers look clients up by id; ask by pseudonym",
                        extra={"reason": "client_lookup_not_permitted"})
    if client_id is not None:
        pseudonym = tx.session.scalar(select(Client.pseudonym).where(Client.id == client_id))
        if pseudonym is None:
            tx.record_decision(AuditAction.AUDIT_READ, decision, purpose=purpose,
                               object_type="client", object_id=str(client_id), detail={"found": False})
            raise NotFound("no client with this id; ask by pseudonym for a client whose file is gone")
    limit = max(1, min(limit, audit_query.MAX_PAGE))
    rows = audit_query.events(tx.session, client_pseudonym=pseudonym, actor_id=actor_id, trace_id=trace_id,
                              actor_party=None if controller else actor.subject.party,
                              before_seq=before, limit=limit + 1)
    items = list(rows[:limit])
    tx.record_decision(AuditAction.AUDIT_READ, decision, purpose=purpose, client_pseudonym=pseudonym,
                       object_type="audit_event", detail={"returned": len(items),
                                                          "scope": "all" if controller else "own_party"})
    return EventPage(items=items, next_before=items[-1].seq if len(rows) > limit else None)


def event_proof(tx: Transaction, *, event_id: uuid.UUID, purpose: str) -> dict:
    """The inclusion proof of one event, for a privacy officer of the party whose staff acted, or of the
    controller (who oversees the whole trail, art. 7). An event the caller may not see is not found."""
    actor = tx.identify()
    decision = tx.decide(Action.AUDIT_READ, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.AUDIT_PROVE, decision, purpose=purpose, object_type="audit_event",
                           object_id=str(event_id))
        raise tx.refuse(decision)
    event = tx.connection.execute(select(AuditEvent.actor_party, AuditEvent.client_pseudonym)
                                  .where(AuditEvent.id == event_id)).first()
    controller = actor.subject.party == tx.covenant.controller
    if event is None or not (controller or (event.actor_party is not None
                                            and event.actor_party == actor.subject.party)):
        tx.record(AuditAction.AUDIT_PROVE, outcome=Outcome.DENY, reason="event_not_visible", purpose=purpose,
                  object_type="audit_event", object_id=str(event_id))
        raise NotFound("no audit event with this id that you may see")
    try:
        proof = audit_seal.prove(tx.connection, event_id)
    except audit_seal.NotSealed:
        tx.record_decision(AuditAction.AUDIT_PROVE, decision, purpose=purpose, client_pseudonym=event.client_pseudonym,
                           object_type="audit_event", object_id=str(event_id), detail={"sealed": False})
        raise NotSealedYet() from None
    tx.record_decision(AuditAction.AUDIT_PROVE, decision, purpose=purpose, client_pseudonym=event.client_pseudonym,
                       object_type="audit_event", object_id=str(event_id),
                       detail={"tree_size": proof.checkpoint.tree_size})
    return {**proof.as_json(), "public_key": public_jwk(tx.runtime.seal_key.public_key)}


def latest_checkpoint(runtime) -> dict:
    """The newest signed checkpoint and the key that signed it; public, no personal data."""
    with runtime.engine.connect() as conn:
        checkpoint = audit_seal.latest_checkpoint(conn)
    if checkpoint is None:
        raise NotFound("the trail has not been sealed yet")
    return {"checkpoint": checkpoint.as_json(), "public_key": public_jwk(runtime.seal_key.public_key)}
