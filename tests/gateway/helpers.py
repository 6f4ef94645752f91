from __future__ import annotations

import uuid

from sqlalchemy import select

from audit import AuditEvent
from covenant import Role
from gateway.access import load_staff
from gateway.tokens import LOCAL_CLIENT_ID
from covenant.scopes import scopes_for


# The v1 operations that are public on purpose, like a key set: no token, no purpose, no rate to count.
# A signed checkpoint holds a count, a hash and a time, no personal data.
PUBLIC = {("/v1/audit/checkpoints/latest", "get"), ("/v1/audit/checkpoints/consistency", "get")}


def token(runtime, staff_id, *, scopes=None, ttl: int = 3600) -> str:
    with runtime.engine.connect() as conn:
        staff = load_staff(conn, uuid.UUID(str(staff_id)))
    roles = frozenset(Role(role) for role in staff.roles)
    return runtime.tokens.mint(subject=str(staff_id), scopes=scopes_for(roles) if scopes is None
                               else frozenset(scopes), client_id=LOCAL_CLIENT_ID, party=staff.party,
                               now=runtime.clock(), ttl_seconds=ttl)


def auth(bearer: str | None, purpose: str | None = "wellbeing") -> dict[str, str]:
    headers = {}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    if purpose is not None:
        headers["X-Purpose"] = purpose
    return headers


def events(runtime, **where) -> list[AuditEvent]:
    statement = select(AuditEvent).order_by(AuditEvent.seq)
    for name, value in where.items():
        statement = statement.where(getattr(AuditEvent, name) == value)
    with runtime.session() as session:
        return list(session.scalars(statement))


def last_event(runtime, **where) -> AuditEvent:
    found = events(runtime, **where)
    assert found, f"no audit event with {where}"
    return found[-1]


def act(runtime, staff_id, work):
    """Run ``work(tx)`` as staff member ``staff_id`` in a unit of work of its own and commit it, as a request would."""
    from gateway.transaction import Actor, Transaction

    tx = Transaction(runtime, access_point="test", actor=Actor.staff_member(uuid.UUID(str(staff_id)), "test-system"))
    try:
        result = work(tx)
    except Exception as exc:
        tx.abandon(getattr(exc, "slug", "internal_error"))
        raise
    tx.commit()
    return result


def register_client(runtime, staff_id, **kwargs) -> uuid.UUID:
    from gateway.clients import service as clients_service

    return act(runtime, staff_id,
               lambda tx: clients_service.register_client(tx, purpose="case_management", **kwargs)).id


def link(runtime, cast, member: str, *, until=None) -> uuid.UUID:
    """The demo client manager links ``member`` (a name of the demo cast) to the demo client."""
    from gateway.care import service as care_service

    return act(runtime, cast.staff["client_manager"], lambda tx: care_service.grant_link(
        tx, client_id=uuid.UUID(cast.clients[0]), staff_id=uuid.UUID(cast.staff[member]),
        purpose="case_management", reason="asked for their records", until=until))


def end_link(runtime, cast, link_id) -> None:
    from gateway.care import service as care_service

    act(runtime, cast.staff["client_manager"], lambda tx: care_service.end_link(
        tx, client_id=uuid.UUID(cast.clients[0]), link_id=link_id, purpose="case_management", reason="case closed"))


def partner_token(runtime, staff_id, client_id: str, *, ttl: int = 3600) -> str:
    """A token for ``staff_id`` issued to the partner system ``client_id`` of the staff member's party,
    registered here if it is not yet (``token`` mints as the local ``gateway token`` does)."""
    from gateway import operations
    from gateway.oauth.service import get_partner

    claims = runtime.tokens.verify(token(runtime, staff_id), runtime.clock())
    with runtime.engine.connect() as conn:
        known = get_partner(conn, client_id) is not None
    if not known:
        operations.register_partner(runtime, party=claims.party, name=f"test system {client_id}", client_id=client_id)
    return runtime.tokens.mint(subject=claims.subject, scopes=claims.scopes, client_id=client_id, party=claims.party,
                               now=runtime.clock(), ttl_seconds=ttl)


def seed_idempotency_record(runtime, *, staff_id, key: str, path: str, body: bytes, answer,
                            purpose: str = "wellbeing", source_system: str = LOCAL_CLIENT_ID) -> None:
    """Store the record of a POST as if it had been answered with ``answer`` (a gateway.idempotency.Answer)."""
    from sqlalchemy import insert

    from audit import UnitOfWork
    from gateway.idempotency import TTL, IdempotencyRecord, canonical_body

    secret, now = runtime.idempotency, runtime.clock()
    digest = secret.key_digest(source_system=source_system, staff_id=str(staff_id), key=key)
    fingerprint = secret.fingerprint(method="POST", path=path, query="", purpose=purpose, body=canonical_body(body))
    values = dict(key_digest=digest, fingerprint=fingerprint, request_id=None, status_code=answer.status_code,
                  response=secret.seal_answer(digest, answer), created_at=now, expires_at=now + TTL)
    runtime.committer.commit(UnitOfWork(events=[], apply=lambda conn: conn.execute(
        insert(IdempotencyRecord).values(**values))))
