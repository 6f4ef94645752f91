"""``Idempotency-Key`` on every POST of the API: a retried request is answered, not done twice.

How a POST becomes idempotent, with nothing in its route:

1. :func:`gateway.deps.get_transaction` (the one dependency of the v1 routes) calls :func:`begin`
   once the caller, the rate and the purpose are checked. Without the header nothing changes. With it,
   the key is checked (at most 200 printable ASCII characters, else 400) and looked up within the
   caller's scope: the token's partner system and staff member.
2. A stored key whose request had the same fingerprint (method, path, query, purpose and body) is
   answered from the record: the first answer's status, body and ``Location``, with
   ``Idempotent-Replayed: true``, and a ``request.replayed`` event. The same key with another request
   is 422. The route does not run.
3. A new key: the route runs, and the dependency leaves the commit to :class:`IdempotentAnswers`,
   the ASGI layer that holds the answer until it is committed. A successful (2xx) answer is recorded
   by a guard (:meth:`Transaction.guard`) that runs first inside the unit's own database transaction:
   the change and the record of its key commit together or not at all. Two requests with one key
   at once both reach the commit; the record's primary key lets one win, the other gets 409 with
   nothing done (a retry then receives the winner's answer).

Only successful answers are recorded: a refused request changed nothing and leaves its key free. A
key lives 24 hours (``expires_at``); an expired key may be used again, and :func:`purge_expired`
deletes old records (the hourly job :data:`PURGE`).

Nothing a partner sent is stored as it was sent: the key is stored as a keyed digest, the request as
a keyed fingerprint (HMAC), and the answer sealed (AES-GCM) under a secret in the key folder that is
never in the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request
from sqlalchemy import Connection, LargeBinary, String, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit import AuditAction, Outcome, UnitOfWork
from audit.types import UTCDateTime
from gateway.db import Base
from gateway.errors import BadRequest, Conflict, GatewayError, InvalidRequest
from gateway.jobs.job import Counts, Job
from gateway.vault import aad, ensure_private_folder, write_secret

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 200
_KEY_FILE = "idempotency.key"
_NONCE = 12
_REPLAYED_HEADERS = ("content-type", "location")  # of the first answer, kept for its replays
_DEFERRED = "idempotent_commit"  # in the request's state: the unit whose commit waits for the answer


class IdempotencyRecord(Base):
    """A POST's key and its first successful answer, for 24 hours.

    ``key_digest`` is HMAC(partner system, staff member, key); ``fingerprint`` HMAC(method, path,
    query, purpose, body); ``response`` the answer's body and headers, sealed. The primary key is
    what lets exactly one of two concurrent requests with one key commit.
    """

    __tablename__ = "idempotency_record"

    key_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class IdempotencyKeyInvalid(BadRequest):
    slug = "idempotency-key-invalid"
    title = "Invalid Idempotency-Key"

    def __init__(self) -> None:
        super().__init__(f"an {HEADER} is one value of 1 to {MAX_KEY_LENGTH} printable ASCII characters")


class IdempotencyKeyReused(InvalidRequest):
    slug = "idempotency-key-reused"
    title = "Idempotency-Key used for another request"

    def __init__(self) -> None:
        super().__init__(f"this {HEADER} was used for a different request (another route, body or purpose) "
                         "in the last 24 hours; use a new key for a new request")


class IdempotencyConflict(Conflict):
    slug = "idempotency-conflict"
    title = "Concurrent request with the same Idempotency-Key"

    def __init__(self) -> None:
        super().__init__(f"another request with this {HEADER} was being processed at the same time; this one "
                         "did nothing. Retry with the same key to receive the other's answer")


class IdempotencySecret:
    """The key folder's idempotency secret (a file, 0600), from which the digest, fingerprint and
    sealing keys are derived, each for its own use."""

    def __init__(self, folder: Path) -> None:
        path = folder / _KEY_FILE
        if not path.exists():
            ensure_private_folder(folder)
            write_secret(path, base64.b64encode(secrets.token_bytes(32)))
        secret = base64.b64decode(path.read_bytes())
        self._mac_key = hmac.new(secret, b"idempotency/mac", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(secret, b"idempotency/seal", hashlib.sha256).digest())

    def _mac(self, *parts: bytes) -> str:
        # Length-prefixed, so that no two different lists of parts give the same input.
        message = b"".join(len(part).to_bytes(4, "big") + part for part in parts)
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()

    def key_digest(self, *, source_system: str, staff_id: str, key: str) -> str:
        return self._mac(b"key", source_system.encode(), staff_id.encode(), key.encode())

    def fingerprint(self, *, method: str, path: str, query: str, purpose: str, body: bytes) -> str:
        return self._mac(b"request", method.encode(), path.encode(), query.encode(), purpose.encode(), body)

    def seal(self, key_digest: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, aad("idempotency", key_digest))

    def open(self, key_digest: str, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], aad("idempotency", key_digest))

    def seal_answer(self, key_digest: str, answer: "Answer") -> bytes:
        return self.seal(key_digest, json.dumps({"headers": answer.headers,
                                                 "body": base64.b64encode(answer.body).decode()}).encode())

    def open_answer(self, key_digest: str, status_code: int, sealed: bytes) -> "Answer":
        payload = json.loads(self.open(key_digest, sealed))
        return Answer(status_code=status_code, headers=payload["headers"], body=base64.b64decode(payload["body"]))


@dataclass(frozen=True, slots=True)
class Answer:
    """A stored answer, to be given again."""

    status_code: int
    headers: dict[str, str]
    body: bytes


class Replayed(Exception):
    """Raised by :func:`begin` for a request already answered; the app renders :attr:`answer`."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("replayed")
        self.answer = answer


@dataclass(frozen=True, slots=True)
class Pending:
    """A new key: recorded with the answer, in the unit's transaction."""

    key_digest: str
    fingerprint: str


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= MAX_KEY_LENGTH and all(" " <= char <= "~" for char in key)


def canonical_body(body: bytes) -> bytes:
    """JSON compared by meaning (key order and spacing aside); anything else byte for byte."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _reject(tx, reason: str, error: GatewayError) -> GatewayError:
    tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason=reason, purpose=tx.purpose)
    return error


async def begin(tx, request: Request) -> Pending | None:
    """Check a POST's ``Idempotency-Key`` (step 1 of the module's docstring).

    Returns ``None`` (no key, or not a POST), a :class:`Pending` key, or raises: the refusals as
    :class:`GatewayError` (recorded in ``tx``), a replay as :class:`Replayed` (recorded and committed).
    """
    if request.method != "POST":
        return None
    values = request.headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1 or not valid_key(values[0]):
        raise _reject(tx, "idempotency_key_invalid", IdempotencyKeyInvalid())
    runtime = tx.runtime
    secret: IdempotencySecret = runtime.idempotency
    digest = secret.key_digest(source_system=tx.actor.source_system, staff_id=tx.actor.audit_id, key=values[0])
    fingerprint = secret.fingerprint(method=request.method, path=request.url.path, query=request.url.query,
                                     purpose=tx.purpose or "", body=canonical_body(await request.body()))
    stored = await run_in_threadpool(_stored, runtime.engine, digest, tx.now)
    if stored is None:
        return Pending(key_digest=digest, fingerprint=fingerprint)
    if not hmac.compare_digest(stored.fingerprint, fingerprint):
        raise _reject(tx, "idempotency_key_reused", IdempotencyKeyReused())
    try:
        answer = secret.open_answer(digest, stored.status_code, stored.response)
    except (InvalidTag, ValueError, KeyError):
        log.error("idempotency_record_unreadable")
        raise _reject(tx, "idempotency_record_unreadable", GatewayError(
            "the stored answer to this Idempotency-Key cannot be read; nothing was done")) from None
    tx.record(AuditAction.REQUEST_REPLAYED, outcome=Outcome.PERMIT, reason="idempotent_replay", purpose=tx.purpose,
              detail={"replay_of": stored.request_id, "status": stored.status_code})
    await tx.commit_async()
    raise Replayed(answer)


def _stored(engine, digest: str, now: dt.datetime):
    table = IdempotencyRecord.__table__
    with engine.connect() as conn:
        return conn.execute(select(table.c.fingerprint, table.c.request_id, table.c.status_code, table.c.response)
                            .where(table.c.key_digest == digest, table.c.expires_at > now)).first()


def defer(request: Request, tx, pending: Pending) -> None:
    """Leave the unit's commit to :class:`IdempotentAnswers`, which commits it with the answer."""
    setattr(request.state, _DEFERRED, _Deferred(tx, pending))


class _Deferred:
    def __init__(self, tx, pending: Pending) -> None:
        self.tx = tx
        self.pending = pending
        self.done = False

    def record(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Queue the record of a successful answer as the unit's guard."""
        tx, digest = self.tx, self.pending.key_digest
        kept = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers
                if name.decode("latin-1").lower() in _REPLAYED_HEADERS}
        sealed = tx.runtime.idempotency.seal_answer(digest, Answer(status_code=status, headers=kept, body=body))
        values = {"key_digest": digest, "fingerprint": self.pending.fingerprint, "request_id": tx.request_id,
                  "status_code": status, "response": sealed, "created_at": tx.now, "expires_at": tx.now + TTL}
        now = tx.now

        def record_key(conn: Connection) -> None:
            table = IdempotencyRecord.__table__
            # An expired record of the same key may be in the way (not purged yet); it is free again.
            conn.execute(delete(table).where(table.c.key_digest == digest, table.c.expires_at <= now))
            try:
                conn.execute(insert(table).values(**values))
            except IntegrityError:
                raise IdempotencyConflict() from None

        tx.guard(record_key)

    async def commit(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> GatewayError | None:
        """Commit the unit with the record of its answer; the error to answer instead, if it failed."""
        self.done = True
        tx = self.tx
        if 200 <= status < 300:
            self.record(status, headers, body)
        try:
            await tx.commit_async()
            return None
        except IdempotencyConflict as exc:
            # The unit's events are in the trail as failed ("write_failed"); say why as well.
            tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="idempotency_conflict",
                      purpose=tx.purpose)
            return await _committed_or(tx, exc)
        except IntegrityError:
            return Conflict("the request conflicts with the current state of the file")
        except GatewayError as exc:
            return exc
        except Exception as exc:
            log.error("idempotent_commit_failed", error=type(exc).__name__, exc_info=exc)
            return GatewayError("the gateway could not handle this request; it has been logged")
        finally:
            tx.close()

    async def abandon(self) -> None:
        """The answer never came: nothing is changed, the attempt stays on record."""
        self.done = True
        try:
            await self.tx.abandon_async("internal_error")
        finally:
            self.tx.close()


async def _committed_or(tx, error: GatewayError) -> GatewayError:
    try:
        await tx.commit_async()
    except GatewayError as exc:
        return exc
    return error


class IdempotentAnswers:
    """Pure ASGI middleware: holds the answer to a POST whose unit's commit was deferred
    (:func:`defer`), commits the unit with the record of the answer, and only then lets the answer
    go, or, if the commit failed, a problem document instead. Other requests pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        held: list[Message] = []

        async def hold(message: Message) -> None:
            deferred: _Deferred | None = state.get(_DEFERRED)
            if deferred is None or deferred.done:
                await send(message)
                return
            held.append(message)
            if message["type"] != "http.response.body" or message.get("more_body", False):
                return
            start = held[0]
            body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
            error = await deferred.commit(start["status"], start.get("headers", []), body)
            if error is None:
                for message_ in held:
                    await send(message_)
                return
            code, problem, headers = error.response_parts(state.get("request_id"))
            await send({"type": "http.response.start", "status": code, "headers": headers})
            await send({"type": "http.response.body", "body": problem})

        try:
            await self.app(scope, receive, hold)
        finally:
            deferred = state.pop(_DEFERRED, None)
            if deferred is not None and not deferred.done:
                await deferred.abandon()


def purge_expired(runtime, *, now: dt.datetime) -> int:
    """Delete the records of keys expired at ``now``; returns how many. Housekeeping, not a retention
    duty (the records hold no personal data): the job :data:`PURGE` records a run that deleted some."""
    table = IdempotencyRecord.__table__
    statement = delete(table).where(table.c.expires_at <= now)
    purged = runtime.committer.commit(UnitOfWork(events=[], apply=lambda conn: conn.execute(statement).rowcount))
    if purged.result:
        log.info("idempotency_keys_purged", records=purged.result)
    return purged.result


def _purge(runtime, tx) -> Counts:
    return {"purged": purge_expired(runtime, now=tx.now)}


PURGE = Job(name="idempotency.purge", description="delete the records of expired Idempotency-Keys",
            work=_purge, every=dt.timedelta(hours=1))
