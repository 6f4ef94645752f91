"""One request's (or one CLI verb's) unit of work: reads, decisions, audit events, changes.

A service loads its facts through the unit (``tx.client_facts``, one query), asks ``tx.authorize``
(which calls ``covenant.decide`` for the unit's actor and records the event, permit or refusal),
queues its changes with ``tx.write``, and returns. Whoever
opened the transaction then calls ``commit``: the changes and every event go to the database in
one transaction (via the group committer) before anything is answered. On a refusal the events are
committed and the changes dropped; if the commit fails, nothing is answered but an error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import structlog
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from audit import AuditAction, AuditUnavailable, EventDraft, Outcome, UnitOfWork
from audit.events import failed
from covenant import STAFF_ROLES, Action, Context, Covenant, Decision, Resource, Role, Subject, decide
from gateway.access import (AccessFacts, StaffFacts, TokenStanding, load_facts, load_staff, load_system,
                            load_system_facts)
from gateway.errors import AuditUnavailableError, GatewayError, RecordIntegrityError, Unauthenticated
from gateway.refusals import refusal
from gateway.register.activities import activity_for
from gateway.runtime import Runtime
from gateway.tokens import LOCAL_CLIENT_ID
from gateway.vault import VaultError

log = structlog.get_logger(__name__)

EMERGENCY = "emergency:"  # the prefix of an authority resting on a break-the-glass window


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a bearer token says is calling, before the gateway has looked them up.

    ``staff_id`` None: a partner system acting on its own (a ``client_credentials`` token).
    """

    staff_id: uuid.UUID | None
    scopes: frozenset[str]
    source_system: str
    party: str | None = None
    token_id: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, as the covenant sees them (``subject``) and as the trail records them."""

    subject: Subject
    source_system: str
    on_behalf_of: str | None = None

    @property
    def staff_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.subject.id) if self.subject.id and not self.is_system else None

    @property
    def is_system(self) -> bool:
        return Role.SYSTEM in self.subject.roles

    @property
    def audit_id(self) -> str:
        return self.subject.id or "administrator"

    @property
    def roles_label(self) -> str:
        return " ".join(sorted(self.subject.roles))

    @classmethod
    def administrator(cls, source_system: str = "gateway-cli") -> "Actor":
        return cls(subject=Subject.administrator(), source_system=source_system)

    @classmethod
    def staff_member(cls, staff_id: uuid.UUID, source_system: str, *,
                     scopes: frozenset[str] | None = None) -> "Actor":
        """A staff member as far as is known before the unit of work looks them up (no party, no
        roles yet): from a token (with its scopes), or acting without one (the demo, tests)."""
        return cls(subject=Subject(id=str(staff_id), party=None, roles=frozenset(), scopes=scopes),
                   source_system=source_system)

    @classmethod
    def system(cls, client_id: str, party: str | None, *, scopes: frozenset[str] | None = None) -> "Actor":
        """A partner system acting on its own; the trail names it by its client id."""
        return cls(subject=Subject(id=client_id, party=party, roles=frozenset({Role.SYSTEM}), scopes=scopes),
                   source_system=client_id)


class Transaction:
    """One unit of work, done by one actor.

    ``actor`` is known from the start for the CLI and the demo; for a request it is what the bearer
    token says (``caller``) until the unit looks the staff member up (``identify``, or
    ``client_facts`` which does it in the same query as the client's facts).
    """

    def __init__(self, runtime: Runtime, *, access_point: str, request_id: str | None = None,
                 actor: Actor | None = None, traceparent: str | None = None,
                 covenant: Covenant | None = None) -> None:
        self.runtime = runtime
        # The version in force now (``covenant`` only where the covenant's own administration must be
        # decided while no version is in force yet, see gateway.covenants.service).
        self.now: dt.datetime = runtime.clock()
        self.covenant = covenant if covenant is not None else runtime.covenant_at(self.now)
        self._zone = runtime.settings.zone
        self.access_point = access_point
        self.request_id = request_id
        self.traceparent = traceparent
        self.actor = actor
        self.purpose: str | None = None
        self._identified = actor is not None and actor.subject.id is None  # the administrator is no staff
        self._caller: Caller | None = None
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._events: list[EventDraft] = []
        self._writes: list[Callable[[Connection], Any]] = []
        self._guards: list[Callable[[Connection], Any]] = []
        self._after_commit: list[Callable[[], Any]] = []

    @property
    def today(self) -> dt.date:
        """The calendar date now, where the covenant's dates fall (not the UTC date)."""
        return self.now.astimezone(self._zone).date()

    def start_of(self, day: dt.date) -> dt.datetime:
        """The moment a calendar date begins, where the covenant's dates fall, in UTC."""
        return dt.datetime.combine(day, dt.time(), self._zone).astimezone(dt.UTC)

    def called_by(self, caller: Caller) -> None:
        """A request: the bearer token names the caller; who they are is looked up on first need,
        together with the token's standing (revoked? its system switched off?)."""
        self._caller = caller
        if caller.staff_id is None:
            self.actor = Actor.system(caller.source_system, None, scopes=caller.scopes)
        else:
            self.actor = Actor.staff_member(caller.staff_id, caller.source_system, scopes=caller.scopes)
        self._identified = False

    @property
    def connection(self) -> Connection:
        """The unit's read-only connection (Core); the hot paths read through it."""
        if self._connection is None:
            self._connection = self.runtime.engine.connect()
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session on the same read-only connection, for the paths where the ORM reads clearer."""
        if self._session is None:
            self._session = Session(bind=self.connection)
        return self._session

    def _staff_id(self) -> uuid.UUID:
        if self.actor is None or self.actor.staff_id is None:
            raise RuntimeError("this unit of work has no staff member acting")
        return self.actor.staff_id

    def _reject(self, reason: str) -> Unauthenticated:
        self.record(AuditAction.AUTH_REJECTED, outcome=Outcome.DENY, reason=reason)
        return Unauthenticated()

    def _check_token(self, standing: TokenStanding, party: str) -> None:
        """A token counts only while it is not revoked, its partner system is switched on, and for
        the party it was issued to (a staff member moved to another party needs a new one)."""
        caller = self._caller
        if caller is None:
            return
        if standing.revoked:
            raise self._reject("token_revoked")
        if standing.system_active is False:
            raise self._reject("client_inactive")
        if standing.system_active is None and caller.source_system != LOCAL_CLIENT_ID:
            raise self._reject("client_unknown")
        if caller.party != party:
            raise self._reject("token_party_mismatch")

    def _resolve(self, staff: StaffFacts | None) -> Actor:
        if staff is None:
            # The token was ours, but its staff member is gone: unauthenticated, and on record.
            raise self._reject("token_subject_unknown")
        self._check_token(staff.token, staff.party)
        actor = self.actor
        subject = Subject(id=actor.subject.id, party=staff.party, active=staff.active, scopes=actor.subject.scopes,
                          roles=frozenset(Role(role) for role in staff.roles if role in STAFF_ROLES))
        self.actor = Actor(subject=subject, source_system=actor.source_system, on_behalf_of=actor.on_behalf_of)
        self._identified = True
        return self.actor

    def _token_params(self) -> dict[str, str | None]:
        caller = self._caller
        return {"token_id": caller.token_id, "system_id": caller.source_system} if caller else {}

    def identify(self) -> Actor:
        """The acting staff member (or partner system) as stored now: an account switched off is off
        at once (ASVS 8.3.2)."""
        if self._identified:
            return self.actor
        if self.actor.is_system:
            system = load_system(self.connection, self.actor.source_system, token_id=self._caller.token_id)
            if system is None:
                raise self._reject("client_unknown")
            self._check_token(system.token, system.party)
            self.actor = Actor.system(self.actor.source_system, system.party, scopes=self.actor.subject.scopes)
            self._identified = True
            return self.actor
        return self._resolve(load_staff(self.connection, self._staff_id(), **self._token_params()))

    def client_facts(self, client_id: uuid.UUID, *, entry_id: uuid.UUID | None = None) -> AccessFacts:
        """The facts of a decision about ``client_id`` (see :mod:`gateway.access`), and the actor with them."""
        if self.actor.is_system:
            facts = load_system_facts(self.connection, system_id=self.actor.source_system, client_id=client_id,
                                      now=self.now, token_id=self._caller.token_id if self._caller else None)
            if facts is None:
                raise self._reject("client_unknown")
            if not self._identified:
                self._check_token(facts.staff.token, facts.staff.party)
                self.actor = Actor.system(self.actor.source_system, facts.staff.party,
                                          scopes=self.actor.subject.scopes)
                self._identified = True
            return facts
        facts = load_facts(self.connection, staff_id=self._staff_id(), client_id=client_id, now=self.now,
                           entry_id=entry_id, **self._token_params())
        self._resolve(facts.staff if facts is not None else None)
        return facts

    def decide(self, action: Action, resource: Resource, *, purpose: str) -> Decision:
        return decide(self.identify().subject, action, resource,
                      Context(covenant=self.covenant, purpose=purpose, now=self.now,
                              demo_mode=self.runtime.settings.demo))

    def record_decision(self, audit_action: AuditAction, decision: Decision, *, purpose: str, **event: Any) -> None:
        if decision.allowed and decision.authority is not None and decision.authority.startswith(EMERGENCY):
            # Break-the-glass: every use of an emergency window is flagged, so that a privacy officer
            # finds it without parsing the authority (the window's id is in the authority).
            event["detail"] = {**(event.get("detail") or {}), "emergency": True}
        self.record(audit_action, outcome=Outcome.PERMIT if decision.allowed else Outcome.DENY,
                    reason=decision.reason.value, purpose=purpose, authority=decision.authority, **event)

    def authorize(self, action: Action, resource: Resource, *, purpose: str, audit_action: AuditAction,
                  **event: Any) -> Decision:
        """Decide, record the attempt with its outcome, and return the decision."""
        decision = self.decide(action, resource, purpose=purpose)
        self.record_decision(audit_action, decision, purpose=purpose, **event)
        return decision

    def decrypt(self, client_id: uuid.UUID, key_version: int, associated: bytes, sealed: bytes, *,
                what: str, object_id: uuid.UUID) -> bytes:
        """Decrypt something sealed with the client's key where it was found. A ciphertext that does
        not open there (moved, relabelled, its key gone) is an integrity failure: logged by id,
        answered 500 ``record-integrity``, and nothing of it returned."""
        try:
            return self.runtime.vault.decrypt(client_id, key_version, associated, sealed)
        except VaultError as exc:
            log.error(f"{what}_undecryptable", **{f"{what}_id": str(object_id)}, problem=str(exc))
            raise RecordIntegrityError() from None

    def refuse(self, decision: Decision) -> GatewayError:
        """The answer to a refused decision (see :mod:`gateway.refusals`)."""
        return refusal(decision, self.actor.subject)

    def record(self, action: AuditAction, *, outcome: Outcome, reason: str, **fields: Any) -> None:
        """Add an event by this unit's actor (it is written when the unit commits).

        The event names the processing activity it served (art. 15): the one of the purpose it states, else
        that of the request's stated purpose, else the one its action belongs to (:mod:`gateway.register.activities`).
        """
        actor = self.actor
        if "activity" not in fields:
            fields["activity"] = activity_for(self.covenant, action, fields.get("purpose") or self.purpose)
        self._events.append(EventDraft(
            action=action,
            outcome=outcome,
            reason=reason,
            occurred_at=self.now,
            actor_id=actor.audit_id if actor else None,
            actor_roles=(actor.roles_label or None) if actor else None,
            actor_party=actor.subject.party if actor else None,
            on_behalf_of=actor.on_behalf_of if actor else None,
            source_system=actor.source_system if actor else None,
            covenant_version=self.covenant.label,
            access_point=self.access_point,
            request_id=self.request_id,
            traceparent=self.traceparent,
            **fields,
        ))

    def write(self, change: Callable[[Connection], Any]) -> None:
        """Queue a change; it runs inside the committing transaction, with this unit's events."""
        self._writes.append(change)

    def after_commit(self, work: Callable[[], Any]) -> None:
        """Queue work to do once the changes are durable, and only then: destroying what the committed
        changes made superfluous (a client's old data keys after a correction). Dropped with the
        changes on a refusal or failure; a failure of the work itself is logged, not answered."""
        self._after_commit.append(work)

    def _run_after_commit(self) -> None:
        work, self._after_commit = self._after_commit, []
        for item in work:
            try:
                item()
            except Exception as exc:
                log.error("after_commit_failed", error=type(exc).__name__, exc_info=exc)

    def guard(self, change: Callable[[Connection], Any]) -> None:
        """Queue a change that runs before the others, in the same transaction, and whose failure
        undoes them: the record of an idempotency key (:mod:`gateway.idempotency`)."""
        self._guards.append(change)

    def end_reads(self) -> None:
        """Give the read connection back; the unit keeps its events and changes."""
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _unit(self) -> UnitOfWork | None:
        self.end_reads()
        writes, guards, events = self._writes, self._guards, self._events
        self._writes, self._guards, self._events = [], [], []
        if not events and not writes and not guards:
            return None

        def apply(conn: Connection) -> list[Any]:
            for guard in guards:
                guard(conn)
            return [change(conn) for change in writes]

        return UnitOfWork(events=events, apply=apply if writes or guards else None)

    def _drop_changes(self, reason: str) -> None:
        """After a refusal or a failure: the changes go; the events stay, those of attempts that
        were permitted recorded as errors with ``reason`` (what was permitted did not happen)."""
        self._writes = []
        self._guards = []
        self._after_commit = []
        self._events = failed(self._events, reason)

    def commit(self) -> list[Any]:
        """Write the changes and events in one durable transaction; returns what each change returned."""
        unit = self._unit()
        if unit is None:
            return []
        try:
            result = self.runtime.committer.commit(unit).result or []
        except AuditUnavailable:
            self._after_commit = []
            raise AuditUnavailableError() from None
        except Exception:
            self._after_commit = []
            raise
        self._run_after_commit()
        return result

    async def commit_async(self) -> list[Any]:
        """:meth:`commit` for the event loop: waits for the writer without holding a worker thread."""
        unit = self._unit()
        if unit is None:
            return []
        try:
            result = (await self.runtime.committer.commit_async(unit)).result or []
        except AuditUnavailable:
            self._after_commit = []
            raise AuditUnavailableError() from None
        except Exception:
            self._after_commit = []
            raise
        if self._after_commit:
            await run_in_threadpool(self._run_after_commit)
        return result

    def abandon(self, reason: str) -> None:
        """Drop the changes and commit the events (see :meth:`_drop_changes`)."""
        self._drop_changes(reason)
        self.commit()

    async def abandon_async(self, reason: str) -> None:
        self._drop_changes(reason)
        await self.commit_async()

    def close(self) -> None:
        self.end_reads()
