"""Review of the audit trail by privacy officers (NEN 7513: who saw which client's data, when, why)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass
from typing import Sequence

from sqlalchemy import select

from audit import AuditAction, AuditCheckpoint, AuditEvent, Outcome
from audit import query as audit_query
from audit import seal as audit_seal
from audit.checkpoint import public_jwk
from covenant import Action, Decision, Resource
from covenant.loader import ACTIVITY_ID
from gateway.clients.models import Client
from gateway.errors import BadRequest, Conflict, Forbidden, GatewayError, InvalidRequest, NotFound
from gateway.ratelimit import TooManyRequests
from gateway.transaction import Transaction

# What counts as looking at a client's file, for the volume review: reading entries, listing them,
# reading the client's summary or care team.
CLIENT_READS = (AuditAction.RECORD_READ, AuditAction.RECORD_LIST, AuditAction.CLIENT_READ, AuditAction.TEAM_READ)
EXPORT_MAX = 10_000


class NotSealedYet(Conflict):
    slug = "not-sealed-yet"
    title = "Not sealed yet"

    def __init__(self) -> None:
        super().__init__("the event is not covered by a checkpoint yet; ask again after the next seal")


@dataclass(frozen=True, slots=True)
class EventPage:
    items: Sequence[AuditEvent]
    next_before: int | None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What a review asks for; every field narrows (None: any). ``occurred_until`` is exclusive."""

    pseudonym: str | None = None
    actor_id: str | None = None
    trace_id: str | None = None
    party: str | None = None
    action: str | None = None
    outcome: str | None = None
    occurred_from: dt.datetime | None = None
    occurred_until: dt.datetime | None = None
    activity: str | None = None

    def summary(self) -> dict[str, str]:
        """The filter as the reviewer's own event records it: ids and codes only, as the trail holds."""
        return {name: value.isoformat() if isinstance(value, dt.datetime) else value
                for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True, slots=True)
class _Scope:
    decision: Decision
    pseudonym: str | None
    actor_party: str | None
    controller: bool


def looks_up_clients(tx: Transaction) -> bool:
    """Whether the acting privacy officer may look a client up by id: the controller's (art. 7) may;
    one of another party asks by pseudonym about their own party's staff. The UI shows its "client
    reference" field by the same rule."""
    return tx.identify().subject.party == tx.covenant.controller


def _open_review(tx: Transaction, *, purpose: str, client_id: uuid.UUID | None, filters: EventFilter,
                 audit_action: AuditAction) -> _Scope:
    """Decide the review and settle what it may cover; a refusal is recorded and raised.

    A privacy officer of the controller (art. 7) reviews the whole trail and may look a client up by
    id; one of another party reviews what their own party's staff did, asking by pseudonym.
    """
    actor = tx.identify()
    if client_id is not None and filters.pseudonym is not None:
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="query_invalid", purpose=purpose)
        raise BadRequest("ask by client_id or by pseudonym, not both")
    if filters.action is not None and filters.action not in set(AuditAction):
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="query_invalid", purpose=purpose)
        raise BadRequest("action names no action the trail records")
    if filters.outcome is not None and filters.outcome not in set(Outcome):
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="query_invalid", purpose=purpose)
        raise BadRequest("outcome is one of permit, deny, error")
    if filters.activity is not None and not ACTIVITY_ID.fullmatch(filters.activity):
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="query_invalid", purpose=purpose)
        raise BadRequest("activity is a processing activity's id from the register, such as demo-region:housing")
    decision = tx.decide(Action.AUDIT_READ, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(audit_action, decision, purpose=purpose)
        raise tx.refuse(decision)
    controller = looks_up_clients(tx)
    if client_id is not None and not controller:
        # Resolving a client id would tell whether the client exists, and its pseudonym; that is for
        # the controller's privacy officers. Others ask by pseudonym about their own party's staff.
        tx.record(audit_action, outcome=Outcome.DENY, reason="client_lookup_not_permitted", purpose=purpose)
        raise Forbidden("only the controller's privacy officers look clients up by id; ask by pseudonym",
                        extra={"reason": "client_lookup_not_permitted"})
    if filters.party is not None and not controller and filters.party != actor.subject.party:
        tx.record(audit_action, outcome=Outcome.DENY, reason="party_not_own", purpose=purpose,
                  detail={"party": filters.party})
        raise Forbidden("a privacy officer of a party other than the controller reviews their own party's staff",
                        extra={"reason": "party_not_own"})
    pseudonym = filters.pseudonym
    if client_id is not None:
        pseudonym = tx.session.scalar(select(Client.pseudonym).where(Client.id == client_id))
        if pseudonym is None:
            tx.record_decision(audit_action, decision, purpose=purpose,
                               object_type="client", object_id=str(client_id), detail={"found": False})
            raise NotFound("no client with this id; ask by pseudonym for a client whose file is gone")
    actor_party = filters.party if controller else actor.subject.party
    return _Scope(decision=decision, pseudonym=pseudonym, actor_party=actor_party, controller=controller)


def _select(tx: Transaction, scope: _Scope, filters: EventFilter, *, before: int | None,
            limit: int) -> Sequence[AuditEvent]:
    return audit_query.events(tx.session, client_pseudonym=scope.pseudonym, actor_id=filters.actor_id,
                              trace_id=filters.trace_id, actor_party=scope.actor_party, action=filters.action,
                              outcome=filters.outcome, occurred_from=filters.occurred_from,
                              occurred_until=filters.occurred_until, before_seq=before, limit=limit,
                              activity=filters.activity)


def review_events(tx: Transaction, *, purpose: str, client_id: uuid.UUID | None = None,
                  pseudonym: str | None = None, actor_id: str | None = None, trace_id: str | None = None,
                  party: str | None = None, action: str | None = None, outcome: str | None = None,
                  occurred_from: dt.datetime | None = None, occurred_until: dt.datetime | None = None,
                  before: int | None = None, limit: int = 100, activity: str | None = None) -> EventPage:
    """A page of events, newest first, for a privacy officer; the review itself is recorded."""
    filters = EventFilter(pseudonym=pseudonym, actor_id=actor_id, trace_id=trace_id, party=party, action=action,
                          outcome=outcome, occurred_from=occurred_from, occurred_until=occurred_until,
                          activity=activity)
    scope = _open_review(tx, purpose=purpose, client_id=client_id, filters=filters,
                         audit_action=AuditAction.AUDIT_READ)
    limit = max(1, min(limit, audit_query.MAX_PAGE))
    rows = _select(tx, scope, filters, before=before, limit=limit + 1)
    items = list(rows[:limit])
    tx.record_decision(AuditAction.AUDIT_READ, scope.decision, purpose=purpose, client_pseudonym=scope.pseudonym,
                       object_type="audit_event", detail={"returned": len(items),
                                                          "scope": "all" if scope.controller else "own_party"})
    return EventPage(items=items, next_before=items[-1].seq if len(rows) > limit else None)


def export_events(tx: Transaction, *, purpose: str, filters: EventFilter, export_format: str,
                  limit: int = EXPORT_MAX, client_id: uuid.UUID | None = None) -> list[AuditEvent]:
    """Every event that ``filters`` (and ``client_id``, as in :func:`review_events`) select, up to
    ``limit``, newest first, for a download.

    An export takes the trail out of the gateway, so it is recorded as one of its own
    (``audit.export``), with its format, its filter (a client by pseudonym) and how many events it held.
    """
    scope = _open_review(tx, purpose=purpose, client_id=client_id, filters=filters,
                         audit_action=AuditAction.AUDIT_EXPORT)
    items: list[AuditEvent] = []
    before = None
    while len(items) < limit:
        page = min(audit_query.MAX_PAGE, limit - len(items))
        rows = _select(tx, scope, filters, before=before, limit=page)
        items.extend(rows)
        if len(rows) < page:
            break
        before = rows[-1].seq
    tx.record_decision(AuditAction.AUDIT_EXPORT, scope.decision, purpose=purpose, client_pseudonym=scope.pseudonym,
                       object_type="audit_event", detail={
                           "format": export_format, "returned": len(items), "truncated": len(items) >= limit,
                           "filter": filters.summary(), "scope": "all" if scope.controller else "own_party"})
    return items


def unusual_readers(tx: Transaction, *, purpose: str, occurred_from: dt.datetime, occurred_until: dt.datetime,
                    more_than: int) -> list[audit_query.Reader]:
    """The staff members who looked at the files of more than ``more_than`` distinct clients in the
    period: a lead for the privacy officer (art. 8), not a finding."""
    scope = _open_review(tx, purpose=purpose, client_id=None, filters=EventFilter(),
                         audit_action=AuditAction.AUDIT_READ)
    readers = audit_query.readers_of_many_clients(
        tx.session, actions=CLIENT_READS, occurred_from=occurred_from, occurred_until=occurred_until,
        more_than=more_than, actor_party=scope.actor_party)
    tx.record_decision(AuditAction.AUDIT_READ, scope.decision, purpose=purpose, object_type="reader_volume",
                       detail={"returned": len(readers), "more_than": more_than,
                               "from": occurred_from.isoformat(), "until": occurred_until.isoformat(),
                               "scope": "all" if scope.controller else "own_party"})
    return readers


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


# Consistency proofs computed for the public route, per gateway instance: each reads the chain hashes
# of the events between the two checkpoints (about 6 s per million, see README), and the route has
# no caller to count, so the instance as a whole is limited. Proofs never change (checkpoints
# are append-only), so the answer may be cached anywhere; a witness asks once per new checkpoint.
CONSISTENCY_RATE = "6/minute"


class ProofsBusy(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        GatewayError.__init__(self, "too many consistency proofs asked for; try again after the number of "
                              "seconds in Retry-After", extra={"retry_after": retry_after},
                              headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def checkpoint_consistency(runtime, *, first: int, second: int) -> dict:
    """The consistency proof between two stored checkpoints, with both and the key that signed them;
    public, hashes only (no event, no personal data), so not recorded, like the latest checkpoint.

    422 when ``first`` exceeds ``second``, 404 when either is not the size of a stored checkpoint,
    409 when the stored trail no longer fits the older checkpoint, 429 beyond :data:`CONSISTENCY_RATE` proofs a minute on this instance.
    """
    if first > second:
        raise InvalidRequest("first is the size of the older checkpoint: at most second")
    with runtime.engine.connect() as conn:
        known = set(conn.scalars(select(AuditCheckpoint.tree_size)
                                 .where(AuditCheckpoint.tree_size.in_({first, second}))))
        if known != {first, second}:
            raise NotFound("no stored checkpoint of that size; /v1/audit/checkpoints/latest gives the newest")
        try:
            runtime.rate_limiter.check("public:audit-consistency", rate=CONSISTENCY_RATE)
        except TooManyRequests as exc:
            raise ProofsBusy(exc.retry_after) from None
        try:
            proof = audit_seal.prove_consistency(conn, first, second)
        except audit_seal.SealRefused:
            raise Conflict("the trail does not fit the older checkpoint; no proof can be given") from None
    return {**proof.as_json(), "public_key": public_jwk(runtime.seal_key.public_key)}


def latest_checkpoint(runtime) -> dict:
    """The newest signed checkpoint and the key that signed it; public, no personal data."""
    with runtime.engine.connect() as conn:
        checkpoint = audit_seal.latest_checkpoint(conn)
    if checkpoint is None:
        raise NotFound("the trail has not been sealed yet")
    return {"checkpoint": checkpoint.as_json(), "public_key": public_jwk(runtime.seal_key.public_key)}
