"""What the gateway's administrator (beheerder, art. 3) does from the command line.

Each verb is decided by ``covenant.decide`` for the local administrator, with the purpose
``covenant_administration``, and leaves an audit event, refusals included.
"""

from __future__ import annotations

import re
import secrets
import uuid

from audit import AuditAction, Checkpoint, Outcome, Sealed, VerifyReport, verify_sealed
from audit import seal as audit_seal
from audit.checkpoint import checkpoints_document, public_jwk, read_checkpoints_document
from covenant import STAFF_ROLES, Action, Resource, Role
from covenant.scopes import scopes_for
from gateway.access import load_staff
from gateway.auditlog.sealing import seal_trail
from gateway.errors import BadRequest, Conflict, Forbidden, GatewayError, InvalidRequest, NotFound
from gateway.oauth import service as oauth_service
from gateway.oauth.service import Registration
from gateway.parties import service as parties_service
from gateway.runtime import Runtime
from gateway.tokens import LOCAL_CLIENT_ID, MAX_TOKEN_TTL
from gateway.transaction import Actor, Transaction
from gateway.vault import RotationReport

ADMINISTRATION = "covenant_administration"
# An address as mail servers take it: one @, no spaces, a dot in the domain; at most 254 characters.
_EMAIL = re.compile(r"(?=.{3,254}$)[^@\s]+@[^@\s]+\.[^@\s]+")



def _administration(runtime: Runtime, verb: str) -> Transaction:
    return Transaction(runtime, access_point=f"cli:{verb}", actor=Actor.administrator())


def _authorize(tx: Transaction, action: Action, audit_action: AuditAction, **event) -> None:
    decision = tx.authorize(action, Resource(), purpose=ADMINISTRATION, audit_action=audit_action, **event)
    if not decision.allowed:
        tx.abandon("refused")
        raise tx.refuse(decision)


def start_service(runtime: Runtime, *, verb: str = "serve") -> dict[str, int]:
    """Record that the gateway starts under the covenant in force, and mirror its parties."""
    tx = _administration(runtime, verb)
    _authorize(tx, Action.SERVICE_START, AuditAction.SERVICE_START,
               detail={"covenant_digest": runtime.covenant.digest, "engine": runtime.engine.dialect.name})
    tx.write(lambda conn: parties_service.sync_parties(conn, runtime.covenant))
    [synced] = tx.commit()
    return synced




def issue_token(runtime: Runtime, *, staff_id: uuid.UUID, ttl_seconds: int | None = None) -> str:
    """Mint a bearer token for an active staff member, with the scopes their roles carry.

    At most a day: a bearer token is as good as a password for as long as it lives. Its id (``jti``)
    is in the trail, so a leaked token can be traced to when and for whom it was made.
    """
    ttl = ttl_seconds or runtime.settings.token_ttl_seconds
    if not 60 <= ttl <= MAX_TOKEN_TTL:
        raise BadRequest(f"a token lives between 60 and {MAX_TOKEN_TTL} seconds")
    tx = _administration(runtime, "token")
    staff = load_staff(tx.connection, staff_id)
    if staff is None or not staff.active:
        reason = "staff_unknown" if staff is None else "staff_inactive"
        tx.record(AuditAction.TOKEN_ISSUE, outcome=Outcome.DENY, reason=reason, purpose=ADMINISTRATION,
                  object_type="staff", object_id=str(staff_id))
        tx.abandon("refused")
        raise NotFound("no such staff member") if staff is None else Forbidden("the staff member is not active")
    scopes = scopes_for(frozenset(Role(role) for role in staff.roles if role in STAFF_ROLES))
    token_id = secrets.token_urlsafe(16)
    _authorize(tx, Action.TOKEN_ISSUE, AuditAction.TOKEN_ISSUE, object_type="staff", object_id=str(staff_id),
               detail={"scopes": sorted(scopes), "ttl_seconds": ttl, "token_id": token_id})
    tx.commit()
    return runtime.tokens.mint(subject=str(staff_id), scopes=scopes, client_id=LOCAL_CLIENT_ID, party=staff.party,
                               now=tx.now, ttl_seconds=ttl, token_id=token_id)


def rotate_keys(runtime: Runtime) -> RotationReport:
    """Introduce a new key-encryption key and rewrap every client's data key with it."""
    tx = _administration(runtime, "keys rotate")
    _authorize(tx, Action.KEYS_ROTATE, AuditAction.KEYS_ROTATE)
    tx.commit()  # the attempt is on record before any key changes
    try:
        report = runtime.vault.rotate_kek(tx.now)
    except Exception as exc:
        tx.record(AuditAction.KEYS_ROTATE, outcome=Outcome.ERROR, reason="rotation_failed",
                  purpose=ADMINISTRATION, detail={"error": type(exc).__name__})
        tx.commit()
        raise
    tx.record(AuditAction.KEYS_ROTATE, outcome=Outcome.PERMIT, reason="completed", purpose=ADMINISTRATION,
              authority="role:administrator", object_type="kek", object_id=report.new_kek,
              detail={"rewrapped": report.rewrapped, "destroyed": report.destroyed})
    tx.commit()
    return report


def verify_trail(runtime: Runtime, *, witness: dict | None = None) -> VerifyReport:
    """Recompute the audit chain and the Merkle root at every stored checkpoint, and at every checkpoint
    of a witness's file (``witness``, as ``gateway audit checkpoints`` exports it); the verification
    itself is recorded after it.

    Stored checkpoints verify with the gateway's own key; a witness's checkpoints with the keys the
    witness holds (so a replaced key in the key folder does not make a rewritten trail pass).
    """
    tx = _administration(runtime, "audit verify")
    decision = tx.decide(Action.AUDIT_VERIFY, Resource(), purpose=ADMINISTRATION)
    if not decision.allowed:
        tx.record_decision(AuditAction.AUDIT_VERIFY, decision, purpose=ADMINISTRATION)
        tx.abandon("refused")
        raise tx.refuse(decision)
    keys = runtime.seal_key.keys
    sealed: list[Sealed] = []
    if witness is not None:
        try:
            held, witness_keys = read_checkpoints_document(witness)
        except ValueError as exc:
            tx.record(AuditAction.AUDIT_VERIFY, outcome=Outcome.DENY, reason="witness_file_invalid",
                      purpose=ADMINISTRATION)
            tx.abandon("refused")
            raise BadRequest(f"the witness file is not usable: {exc}") from None
        sealed += [Sealed(checkpoint, "witness", witness_keys) for checkpoint in held]
    with runtime.engine.connect() as conn:
        sealed += [Sealed(checkpoint, "stored") for checkpoint in audit_seal.checkpoints(conn)]
        report = verify_sealed(conn, sealed, keys)
    tx.record_decision(AuditAction.AUDIT_VERIFY, decision, purpose=ADMINISTRATION,
                       detail={"intact": report.ok, "events": report.events, "first_bad_seq": report.first_bad_seq,
                               "checkpoints": report.checkpoints, "first_bad_checkpoint": report.first_bad_checkpoint,
                               "witness": witness is not None})
    tx.commit()
    return report


def seal_now(runtime: Runtime) -> Checkpoint | None:
    """Seal the trail now; the attempt is on record first, so the checkpoint covers it too."""
    tx = _administration(runtime, "audit seal")
    _authorize(tx, Action.AUDIT_SEAL, AuditAction.AUDIT_SEAL, object_type="audit_checkpoint")
    tx.commit()
    try:
        checkpoint = seal_trail(runtime, now=tx.now)
    except audit_seal.SealRefused as exc:
        tx.record(AuditAction.AUDIT_SEAL, outcome=Outcome.ERROR, reason="trail_broken", purpose=ADMINISTRATION,
                  object_type="audit_checkpoint", detail={"first_bad_seq": exc.seq})
        tx.commit()
        raise Conflict(f"nothing sealed: the trail is broken at event {exc.seq}; run gateway audit verify") from None
    return checkpoint


def export_checkpoints(runtime: Runtime) -> dict:
    """The signed checkpoints and the public key, as JSON for witnesses."""
    tx = _administration(runtime, "audit checkpoints")
    with runtime.engine.connect() as conn:
        stored = audit_seal.checkpoints(conn)
    _authorize(tx, Action.AUDIT_CHECKPOINTS, AuditAction.AUDIT_CHECKPOINTS, object_type="audit_checkpoint",
               detail={"checkpoints": len(stored), "tree_size": stored[-1].tree_size if stored else 0})
    tx.commit()
    return checkpoints_document(stored, runtime.seal_key.public_key)


def prove_event(runtime: Runtime, *, event_id: uuid.UUID) -> dict:
    """The inclusion proof of one event in the latest checkpoint, with the public key that signed it."""
    tx = _administration(runtime, "audit prove")
    _authorize(tx, Action.AUDIT_PROVE, AuditAction.AUDIT_PROVE, object_type="audit_event", object_id=str(event_id))
    try:
        with runtime.engine.connect() as conn:
            proof = audit_seal.prove(conn, event_id)
    except audit_seal.NotSealed:
        tx.abandon("not_sealed")
        raise Conflict("the event is not sealed yet; run gateway audit seal") from None
    if proof is None:
        tx.abandon("not_found")
        raise NotFound("no audit event with this id")
    tx.commit()
    return {**proof.as_json(), "public_key": public_jwk(runtime.seal_key.public_key)}


def prove_consistency(runtime: Runtime, *, first: int, second: int) -> dict:
    """The consistency proof that the stored checkpoint of ``second`` events extends the one of ``first``
    (RFC 9162 section 2.1.4), with both signed checkpoints and the public key: what a witness holding
    the older checkpoint checks with ``audit.checkpoint.verify_extension``."""
    tx = _administration(runtime, "audit consistency")
    detail = {"first": first, "second": second}
    if not 0 < first <= second:
        tx.record(AuditAction.AUDIT_PROVE, outcome=Outcome.DENY, reason="query_invalid", purpose=ADMINISTRATION,
                  object_type="audit_checkpoint", detail=detail)
        tx.abandon("refused")
        raise InvalidRequest("FIRST_SIZE is at least 1 and at most SECOND_SIZE")
    _authorize(tx, Action.AUDIT_PROVE, AuditAction.AUDIT_PROVE, object_type="audit_checkpoint", detail=detail)
    try:
        with runtime.engine.connect() as conn:
            proof = audit_seal.prove_consistency(conn, first, second)
    except audit_seal.SealRefused:
        tx.abandon("trail_broken")
        raise Conflict("the trail does not fit the older checkpoint; run gateway audit verify") from None
    if proof is None:
        tx.abandon("not_found")
        raise NotFound("no stored checkpoint of that size; gateway audit checkpoints lists them")
    tx.commit()
    return {**proof.as_json(), "public_key": public_jwk(runtime.seal_key.public_key)}


def register_partner(runtime: Runtime, *, party: str, name: str, jwks=None, client_id: str | None = None,
                     scopes: list[str] | None = None) -> Registration:
    """Register a party's system as an OAuth client (Instrument 1: each party connects its own systems)."""
    tx = _administration(runtime, "partners add")
    try:
        registration = oauth_service.register_partner(tx, party=party, name=name, jwks=jwks, client_id=client_id,
                                                      scopes=scopes)
    except GatewayError as exc:
        tx.record(AuditAction.PARTNER_REGISTER, outcome=Outcome.DENY, reason=exc.slug, purpose=ADMINISTRATION,
                  object_type="partner_system")
        tx.abandon(exc.slug)
        raise
    _authorize(tx, Action.PARTNER_MANAGE, AuditAction.PARTNER_REGISTER, object_type="partner_system",
               object_id=registration.client_id,
               detail={"party": party, "auth_method": registration.auth_method, "scopes": registration.scopes})
    tx.commit()
    return registration


def deactivate_partner(runtime: Runtime, *, client_id: str) -> None:
    """Switch a partner system off: its tokens, and those it obtained for its staff, stop working now."""
    tx = _administration(runtime, "partners deactivate")
    _authorize(tx, Action.PARTNER_MANAGE, AuditAction.PARTNER_DEACTIVATE, object_type="partner_system",
               object_id=client_id[:64])
    try:
        oauth_service.deactivate_partner(tx, client_id=client_id)
    except GatewayError as exc:
        tx.abandon(exc.slug)
        raise
    tx.commit()


def list_partners(runtime: Runtime) -> list[dict]:
    tx = _administration(runtime, "partners list")
    _authorize(tx, Action.PARTNER_MANAGE, AuditAction.PARTNER_LIST, object_type="partner_system")
    rows = [{"client_id": row.client_id, "party": row.party_id, "name": row.name, "auth_method": row.auth_method,
             "scopes": row.scopes, "active": row.active} for row in oauth_service.list_partners(tx)]
    tx.commit()
    return rows


def set_staff_email(runtime: Runtime, *, staff: str, address: str | None) -> uuid.UUID:
    """Set (or, with ``None``, clear) where a staff member's deadline notices are mailed.

    ``staff`` is the staff member's id or handle. The address is staff data, not a client's, and is
    kept in plain text, but it is never logged or recorded: the event says only whether one was set.
    """
    tx = _administration(runtime, "staff email")
    if address is not None and not _EMAIL.fullmatch(address):
        tx.record(AuditAction.STAFF_EMAIL, outcome=Outcome.DENY, reason="email_invalid", purpose=ADMINISTRATION,
                  object_type="staff")
        tx.commit()
        raise InvalidRequest("that is not an e-mail address (name@domain, at most 254 characters)")
    member = parties_service.find_staff(tx, staff)
    if member is None:
        tx.record(AuditAction.STAFF_EMAIL, outcome=Outcome.DENY, reason="staff_unknown", purpose=ADMINISTRATION,
                  object_type="staff")
        tx.commit()
        raise NotFound("no staff member has this id or handle")
    _authorize(tx, Action.STAFF_MANAGE, AuditAction.STAFF_EMAIL, object_type="staff", object_id=str(member.id),
               detail={"set": address is not None})
    parties_service.set_email(tx, member.id, address)
    tx.commit()
    return member.id


def rotate_signing_keys(runtime: Runtime) -> tuple[str, list[str]]:
    """A new token-signing key; the old one verifies for a day more (the longest a token lives)."""
    tx = _administration(runtime, "keys rotate-signing")
    _authorize(tx, Action.KEYS_ROTATE, AuditAction.SIGNING_KEYS_ROTATE)
    tx.commit()
    new, destroyed = runtime.tokens.ring.rotate(tx.now)
    tx.record(AuditAction.SIGNING_KEYS_ROTATE, outcome=Outcome.PERMIT, reason="completed", purpose=ADMINISTRATION,
              authority="role:administrator", object_type="signing_key", object_id=new.kid,
              detail={"destroyed": destroyed})
    tx.commit()
    return new.kid, destroyed
