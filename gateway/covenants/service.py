"""Proposing covenant versions, registering the parties' keys, approving, and the demo's own adoption (art. 16).

Art. 16: the covenant changes only with the consent of all parties. A version is proposed from a
covenant document; each party approves it with an Ed25519 signature (``covenant.signing``) by a key
registered for that party. It comes into force when every party has approved: the parties of the
proposed version AND those of the version in force at that moment (a party the new version drops
consents to being dropped). Until then the version in force stays in force. ``effective_at`` is the
moment of the last approval, or the later ``effective_from`` given at the proposal.

Every act is decided by ``covenant.decide`` for the local administrator (``covenant.manage``, purpose
``covenant_administration``) and recorded, refusals included; a refusal changes nothing. The acts are
decided under the version in force, or under the covenant file while no version is in force yet.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import difflib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from audit import AuditAction, Outcome
from covenant import Action, Covenant, CovenantError, Resource, parse_covenant
from covenant.loader import read_document
from covenant.signing import (
    SigningError,
    canonical_document,
    document_digest,
    fingerprint,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_bytes,
    sign_approval,
    verify_approval,
)
from gateway.covenants.models import CovenantApproval, CovenantPartyKey, CovenantVersion
from gateway.covenants.registry import covenant_of
from gateway.errors import BadRequest, Conflict, Forbidden, GatewayError, InvalidRequest, NotFound
from gateway.runtime import Runtime
from gateway.transaction import Actor, Transaction
from gateway.vault import ensure_private_folder

ADMINISTRATION = "covenant_administration"
DEMO_KEYS = "covenant-signing"  # folder in the key folder with the demo's per-party signing keys
_versions = CovenantVersion.__table__
_keys = CovenantPartyKey.__table__
_approvals = CovenantApproval.__table__

IN_FORCE, SUPERSEDED, SCHEDULED, PROPOSED = "in_force", "superseded", "scheduled", "proposed"
# Demo mode adopts its covenant file as the covenant that has always been in force: the demo's data
# (and the tests' controlled clock, which may step back) then never fall before the first version.
DEMO_EFFECTIVE_AT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class InvalidCovenantDocument(InvalidRequest):
    """The proposed document is no valid covenant (the message names the place)."""


def _transaction(runtime: Runtime, verb: str) -> Transaction:
    return Transaction(runtime, access_point=f"cli:covenant {verb}", actor=Actor.administrator(),
                       covenant=runtime.governing_covenant())


def _decided(tx: Transaction, audit_action: AuditAction, **event: Any):
    """Decide ``covenant.manage`` for the administrator; on a refusal record it and raise."""
    decision = tx.decide(Action.COVENANT_MANAGE, Resource(), purpose=ADMINISTRATION)
    if not decision.allowed:
        tx.record_decision(audit_action, decision, purpose=ADMINISTRATION, **event)
        tx.abandon("refused")
        raise tx.refuse(decision)
    return decision


def _deny(tx: Transaction, audit_action: AuditAction, reason: str, error: GatewayError, **event: Any) -> GatewayError:
    """Record a refusal after the decision permitted the act (the facts do not allow it); nothing changes."""
    tx.record(audit_action, outcome=Outcome.DENY, reason=reason, purpose=ADMINISTRATION, **event)
    tx.abandon("refused")
    return error


# --- reading -------------------------------------------------------------------------------------


@dataclass
class VersionState:
    id: uuid.UUID
    covenant_id: str
    version: str
    digest: str
    proposed_at: dt.datetime
    effective_from: dt.datetime | None
    effective_at: dt.datetime | None
    state: str
    parties: list[str]
    approvals: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.covenant_id}@{self.version}"

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "covenant": self.covenant_id, "version": self.version, "label": self.label,
                "digest": self.digest, "state": self.state, "proposed_at": self.proposed_at.isoformat(),
                "effective_from": self.effective_from.isoformat() if self.effective_from else None,
                "effective_at": self.effective_at.isoformat() if self.effective_at else None,
                "parties": self.parties, "approvals": self.approvals, "missing": self.missing}


def _in_force_row(conn: Connection, now: dt.datetime):
    return conn.execute(select(_versions).where(_versions.c.effective_at <= now)
                        .order_by(_versions.c.effective_at.desc(), _versions.c.proposed_at.desc()).limit(1)).first()


def version_states(conn: Connection, now: dt.datetime) -> list[VersionState]:
    """Every version, oldest proposal first, with its approvals, the parties still missing, and its state."""
    rows = conn.execute(select(_versions).order_by(_versions.c.proposed_at, _versions.c.version)).all()
    in_force = _in_force_row(conn, now)
    in_force_parties = set(covenant_of(in_force).parties) if in_force is not None else set()
    approvals: dict[uuid.UUID, list] = {}
    for approval in conn.execute(select(_approvals).order_by(_approvals.c.approved_at)).all():
        approvals.setdefault(approval.version_id, []).append(approval)
    states = []
    for row in rows:
        parties = sorted(covenant_of(row).parties)
        if row.effective_at is None:
            state = PROPOSED
        elif row.effective_at > now:
            state = SCHEDULED
        else:
            state = IN_FORCE if in_force is not None and row.id == in_force.id else SUPERSEDED
        given = approvals.get(row.id, [])
        required = set(parties) | (in_force_parties if state == PROPOSED else set())
        states.append(VersionState(
            id=row.id, covenant_id=row.covenant_id, version=row.version, digest=row.digest,
            proposed_at=row.proposed_at, effective_from=row.effective_from, effective_at=row.effective_at,
            state=state, parties=parties,
            approvals=[{"party": a.party, "key_id": a.key_id, "approved_at": a.approved_at.isoformat()} for a in given],
            missing=sorted(required - {a.party for a in given}) if state == PROPOSED else []))
    return states


def _find_version(conn: Connection, label: str):
    """A version by its label ``id@version`` or by its version alone."""
    covenant_id, _, version = label.rpartition("@")
    query = select(_versions).where(_versions.c.version == version)
    if covenant_id:
        query = query.where(_versions.c.covenant_id == covenant_id)
    rows = conn.execute(query).all()
    return rows[0] if len(rows) == 1 else None


def status(runtime: Runtime) -> list[VersionState]:
    """``gateway covenant status``: the versions, who approved, who is missing, which is in force."""
    tx = _transaction(runtime, "status")
    decision = _decided(tx, AuditAction.COVENANT_STATUS)
    states = version_states(tx.connection, tx.now)
    tx.record_decision(AuditAction.COVENANT_STATUS, decision, purpose=ADMINISTRATION,
                       detail={"versions": len(states)})
    tx.commit()
    return states


def diff(runtime: Runtime, first: str, second: str) -> str:
    """``gateway covenant diff A B``: the unified diff of two versions' canonical documents, pretty-printed."""
    tx = _transaction(runtime, "diff")
    event = {"object_type": "covenant_version", "detail": {"first": first, "second": second}}
    decision = _decided(tx, AuditAction.COVENANT_DIFF, **event)
    rows = [_find_version(tx.connection, label) for label in (first, second)]
    for label, row in zip((first, second), rows):
        if row is None:
            raise _deny(tx, AuditAction.COVENANT_DIFF, "version_unknown",
                        NotFound(f"no covenant version {label!r} (see gateway covenant status)"), **event)
    tx.record_decision(AuditAction.COVENANT_DIFF, decision, purpose=ADMINISTRATION, **event)
    tx.commit()
    texts = [json.dumps(json.loads(row.document), indent=2, sort_keys=True, ensure_ascii=False).splitlines(True)
             for row in rows]
    return "".join(difflib.unified_diff(texts[0], texts[1], fromfile=f"{rows[0].covenant_id}@{rows[0].version}",
                                        tofile=f"{rows[1].covenant_id}@{rows[1].version}"))


# --- proposing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    covenant: Covenant
    canonical: bytes
    digest: str


def read_proposal(path: str | Path) -> Proposal:
    """Read, resolve (``extends``) and validate a covenant document; its canonical form and digest."""
    path = Path(path)
    document = read_document(path)
    covenant = parse_covenant(document, source=path.name)
    canonical = canonical_document(document)
    return Proposal(covenant=covenant, canonical=canonical, digest=document_digest(canonical))


def _version_row(proposal: Proposal, now: dt.datetime, effective_from: dt.datetime | None) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "covenant_id": proposal.covenant.id, "version": proposal.covenant.version,
            "document": proposal.canonical.decode(), "digest": proposal.digest, "proposed_at": now,
            "proposed_by": "administrator", "effective_from": effective_from, "effective_at": None}


def propose(runtime: Runtime, path: str | Path, *, effective_from: dt.datetime | None = None) -> VersionState:
    """``gateway covenant propose FILE [--effective-from ISO]``: store a new version, not yet in force."""
    tx = _transaction(runtime, "propose")
    event: dict[str, Any] = {"object_type": "covenant_version"}
    decision = _decided(tx, AuditAction.COVENANT_PROPOSE, **event)
    try:
        proposal = read_proposal(path)
    except CovenantError as exc:
        raise _deny(tx, AuditAction.COVENANT_PROPOSE, "document_invalid",
                    InvalidCovenantDocument(f"the covenant document is invalid: {exc}"), **event) from None
    label = proposal.covenant.label
    event["detail"] = {"version": label, "digest": proposal.digest,
                       "effective_from": effective_from.isoformat() if effective_from else None}
    if effective_from is not None and (effective_from.tzinfo is None or effective_from < tx.now):
        raise _deny(tx, AuditAction.COVENANT_PROPOSE, "effective_from_invalid",
                    BadRequest("--effective-from must be a moment with its UTC offset, not in the past"), **event)
    in_force = _in_force_row(tx.connection, tx.now)
    if in_force is not None and in_force.covenant_id != proposal.covenant.id:
        raise _deny(tx, AuditAction.COVENANT_PROPOSE, "covenant_other",
                    Conflict(f"this gateway holds covenant {in_force.covenant_id!r}; the document is "
                             f"{proposal.covenant.id!r}"), **event)
    existing = conn_first(tx.connection, proposal.covenant.id, proposal.covenant.version)
    if existing is not None:
        raise _deny(tx, AuditAction.COVENANT_PROPOSE, "version_exists",
                    Conflict(f"version {label} was proposed before; a change needs a new version number"), **event)
    row = _version_row(proposal, tx.now, effective_from)
    event["object_id"] = str(row["id"])
    tx.record_decision(AuditAction.COVENANT_PROPOSE, decision, purpose=ADMINISTRATION, **event)
    tx.write(lambda conn: conn.execute(insert(_versions).values(**row)))
    tx.commit()
    with runtime.engine.connect() as conn:
        return next(s for s in version_states(conn, tx.now) if s.id == row["id"])


def conn_first(conn: Connection, covenant_id: str, version: str):
    return conn.execute(select(_versions.c.id).where(_versions.c.covenant_id == covenant_id,
                                                     _versions.c.version == version)).first()


# --- the parties' keys ---------------------------------------------------------------------------


def _known_parties(conn: Connection, runtime: Runtime) -> set[str]:
    parties = set(runtime.file_covenant.parties)
    for row in conn.execute(select(_versions)).all():
        parties |= set(covenant_of(row).parties)
    return parties


def add_key(runtime: Runtime, party: str, public_key_file: str | Path) -> str:
    """``gateway covenant keys add PARTY PUBLIC_KEY_FILE``: register a party's approval key; its fingerprint."""
    tx = _transaction(runtime, "keys add")
    event: dict[str, Any] = {"object_type": "covenant_key", "detail": {"party": party}}
    decision = _decided(tx, AuditAction.COVENANT_KEY_ADD, **event)
    try:
        key = load_public_key(Path(public_key_file).read_bytes())
    except OSError as exc:
        raise _deny(tx, AuditAction.COVENANT_KEY_ADD, "key_unreadable",
                    BadRequest(f"cannot read the public key file: {exc.strerror}"), **event) from None
    except SigningError as exc:
        raise _deny(tx, AuditAction.COVENANT_KEY_ADD, "key_invalid", BadRequest(str(exc)), **event) from None
    key_id = fingerprint(key)
    event["object_id"] = key_id
    if party not in _known_parties(tx.connection, runtime):
        raise _deny(tx, AuditAction.COVENANT_KEY_ADD, "party_unknown",
                    InvalidRequest(f"{party!r} is no party of the covenant"), **event)
    if tx.connection.execute(select(_keys.c.id).where(_keys.c.id == key_id)).first() is not None:
        raise _deny(tx, AuditAction.COVENANT_KEY_ADD, "key_exists",
                    Conflict(f"the key {key_id} is registered already"), **event)
    tx.record_decision(AuditAction.COVENANT_KEY_ADD, decision, purpose=ADMINISTRATION, **event)
    tx.write(lambda conn: conn.execute(insert(_keys).values(**_key_row(key_id, party, key, tx.now))))
    tx.commit()
    return key_id


def _key_row(key_id: str, party: str, key, now: dt.datetime) -> dict[str, Any]:
    return {"id": key_id, "party": party, "public_key": base64.b64encode(public_key_bytes(key)).decode(),
            "registered_at": now, "registered_by": "administrator", "revoked_at": None}


def list_keys(runtime: Runtime) -> list[dict[str, Any]]:
    """``gateway covenant keys list``: every registered key, revoked ones included."""
    tx = _transaction(runtime, "keys list")
    decision = _decided(tx, AuditAction.COVENANT_KEY_LIST)
    rows = tx.connection.execute(select(_keys).order_by(_keys.c.party, _keys.c.registered_at)).all()
    tx.record_decision(AuditAction.COVENANT_KEY_LIST, decision, purpose=ADMINISTRATION, detail={"keys": len(rows)})
    tx.commit()
    return [{"key_id": r.id, "party": r.party, "registered_at": r.registered_at.isoformat(),
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None} for r in rows]


def revoke_key(runtime: Runtime, key_id: str) -> None:
    """``gateway covenant keys revoke KEY_ID``: the key approves nothing from now on."""
    tx = _transaction(runtime, "keys revoke")
    event: dict[str, Any] = {"object_type": "covenant_key", "object_id": key_id[:80]}
    decision = _decided(tx, AuditAction.COVENANT_KEY_REVOKE, **event)
    row = tx.connection.execute(select(_keys).where(_keys.c.id == key_id)).first()
    if row is None:
        raise _deny(tx, AuditAction.COVENANT_KEY_REVOKE, "key_unknown",
                    NotFound("no such key (see gateway covenant keys list)"), **event)
    event["detail"] = {"party": row.party}
    if row.revoked_at is not None:
        raise _deny(tx, AuditAction.COVENANT_KEY_REVOKE, "key_revoked",
                    Conflict(f"the key {key_id} was revoked already"), **event)
    tx.record_decision(AuditAction.COVENANT_KEY_REVOKE, decision, purpose=ADMINISTRATION, **event)
    tx.write(lambda conn: conn.execute(update(_keys).where(_keys.c.id == key_id, _keys.c.revoked_at.is_(None))
                                       .values(revoked_at=tx.now)))
    tx.commit()


# --- approving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approved:
    version: str
    party: str
    key_id: str
    effective_at: dt.datetime | None
    missing: list[str]


def sign_with_file(runtime: Runtime, label: str, private_key_file: str | Path) -> tuple[str, str]:
    """Sign the approval of version ``label`` with a private key file, as a party does offline;
    (signature, key id). Signs nothing for an unknown version (``approve`` then refuses it)."""
    key = load_private_key(Path(private_key_file).read_bytes())
    with runtime.engine.connect() as conn:
        row = _find_version(conn, label)
    if row is None:
        return "", fingerprint(key.public_key())
    return sign_approval(key, row.covenant_id, row.version, row.digest), fingerprint(key.public_key())


def approve(runtime: Runtime, label: str, *, party: str, signature: str | None = None, key_id: str | None = None,
            private_key_file: str | Path | None = None) -> Approved:
    """``gateway covenant approve VERSION --party PARTY (--key FILE | --signature BASE64)``.

    With ``private_key_file`` the approval is signed here (the key is read, used and forgotten);
    otherwise ``signature`` is one made elsewhere.

    Refused, recorded and changing nothing: an unknown version; one in force, scheduled or superseded;
    a party whose consent the version does not need; a second approval by the same party; a signature
    that no registered, unrevoked key of the party verifies (forged, made for another version, or by a
    key of another party, a revoked or an unknown key).
    """
    tx = _transaction(runtime, "approve")
    event: dict[str, Any] = {"object_type": "covenant_version", "detail": {"version": label, "party": party}}
    decision = _decided(tx, AuditAction.COVENANT_APPROVE, **event)

    def refuse(reason: str, error: GatewayError) -> GatewayError:
        return _deny(tx, AuditAction.COVENANT_APPROVE, reason, error, **event)

    conn = tx.connection
    row = _find_version(conn, label)
    if row is None:
        raise refuse("version_unknown", NotFound(f"no covenant version {label!r} (see gateway covenant status)"))
    label = f"{row.covenant_id}@{row.version}"
    event.update(object_id=str(row.id), detail={"version": label, "digest": row.digest, "party": party})
    if private_key_file is not None:
        try:
            private = load_private_key(Path(private_key_file).read_bytes())
        except OSError as exc:
            raise refuse("key_file_unreadable",
                         BadRequest(f"cannot read the private key file: {exc.strerror}")) from None
        except SigningError as exc:
            raise refuse("key_file_invalid", BadRequest(str(exc))) from None
        signature = sign_approval(private, row.covenant_id, row.version, row.digest)
        key_id = fingerprint(private.public_key())
    signature = signature or ""
    if row.effective_at is not None:
        in_force = _in_force_row(conn, tx.now)
        state = (SCHEDULED if row.effective_at > tx.now
                 else IN_FORCE if in_force is not None and in_force.id == row.id else SUPERSEDED)
        raise refuse(f"version_{state}", Conflict(f"version {label} is {state.replace('_', ' ')}: "
                                                  "every party approved it already"))
    in_force = _in_force_row(conn, tx.now)
    required = set(covenant_of(row).parties) | (set(covenant_of(in_force).parties) if in_force is not None else set())
    if party not in required:
        raise refuse("party_not_in_covenant",
                     Forbidden(f"{party!r} is no party of {label} or of the version in force"))
    given = {a.party for a in conn.execute(select(_approvals.c.party).where(_approvals.c.version_id == row.id))}
    if party in given:
        raise refuse("already_approved", Conflict(f"{party} approved {label} already"))
    keys = conn.execute(select(_keys) if key_id is None else select(_keys).where(_keys.c.id == key_id)).all()
    verifying = [k for k in keys
                 if verify_approval(load_public_key(k.public_key.encode()), signature, row.covenant_id, row.version,
                                    row.digest)]
    usable = [k for k in verifying if k.party == party and k.revoked_at is None]
    if not usable:
        if key_id is not None and not keys:
            reason, detail = "key_unknown", f"the key {key_id} is not registered"
        elif any(k.party == party for k in verifying):
            reason, detail = "key_revoked", "the key that made this signature was revoked"
        elif verifying:
            reason, detail = "key_of_other_party", f"the key that made this signature is not {party}'s"
        elif key_id is not None and keys[0].party != party:
            reason, detail = "key_of_other_party", f"the key {key_id} is not {party}'s"
        else:
            reason, detail = "signature_invalid", (f"the signature is not a signature of {label} (digest "
                                                   f"{row.digest[:16]}...) by a registered key of {party}")
        raise refuse(reason, Forbidden(detail))
    key = usable[0]
    missing = sorted(required - given - {party})
    effective_at = None if missing else max(tx.now, row.effective_from or tx.now)
    event["detail"] = {**event["detail"], "key_id": key.id, "missing": missing,
                       "effective_at": effective_at.isoformat() if effective_at else None}
    tx.record_decision(AuditAction.COVENANT_APPROVE, decision, purpose=ADMINISTRATION, **event)
    approval = {"id": uuid.uuid4(), "version_id": row.id, "party": party, "key_id": key.id,
                "signature": signature, "approved_at": tx.now}
    tx.write(lambda c: _store_approval(c, approval, required, row.effective_from))
    [stored_effective_at] = tx.commit()
    runtime.versions.refresh()
    return Approved(version=label, party=party, key_id=key.id, effective_at=stored_effective_at, missing=missing)


def _store_approval(conn: Connection, approval: dict[str, Any], required: set[str],
                    effective_from: dt.datetime | None) -> dt.datetime | None:
    """Insert the approval and, when every required party has now approved, put the version in force.

    The version's row is locked first (PostgreSQL; SQLite has one writer), so two last approvals arriving
    at once cannot both miss each other."""
    version_id = approval["version_id"]
    conn.execute(select(_versions.c.id).where(_versions.c.id == version_id).with_for_update())
    conn.execute(insert(_approvals).values(**approval))
    given = {r.party for r in conn.execute(select(_approvals.c.party).where(_approvals.c.version_id == version_id))}
    if not required <= given:
        return None
    now = approval["approved_at"]
    effective_at = max(now, effective_from or now)
    conn.execute(update(_versions).where(_versions.c.id == version_id, _versions.c.effective_at.is_(None))
                 .values(effective_at=effective_at))
    return effective_at


# --- demo mode -----------------------------------------------------------------------------------


def demo_signing_key(runtime: Runtime, party: str):
    """The demo's signing key of ``party`` in the key folder (made on first use; never in the database)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = ensure_private_folder(Path(runtime.settings.key_folder) / DEMO_KEYS)
    path = folder / f"{party}.pem"
    if path.exists():
        return load_private_key(path.read_bytes())
    key = Ed25519PrivateKey.generate()
    path.touch(mode=0o600)
    path.write_bytes(private_key_pem(key))
    return key


def bootstrap_demo(runtime: Runtime) -> bool:
    """Demo mode: when no version is in force, propose the covenant file and approve it for every party
    with the demo's signing keys, in one unit of work, recorded like the verbs; it is in force from
    ``DEMO_EFFECTIVE_AT`` (approved now, but the demo has never had another covenant). False when a version
    is in force already (or one was proposed and awaits approval: then it is left to the verbs)."""
    now = runtime.clock()
    if runtime.versions.at(now) is not None:
        return False
    proposal = read_proposal(runtime.settings.covenant_file)
    covenant = proposal.covenant
    tx = Transaction(runtime, access_point="cli:demo", actor=Actor.administrator(), covenant=covenant)
    with runtime.engine.connect() as conn:
        if conn_first(conn, covenant.id, covenant.version) is not None:
            return False
        registered = {r.party: r for r in conn.execute(select(_keys).where(_keys.c.revoked_at.is_(None))).all()}
    decision = _decided(tx, AuditAction.COVENANT_PROPOSE)
    row = _version_row(proposal, tx.now, None)
    row["effective_at"] = DEMO_EFFECTIVE_AT
    label = covenant.label
    tx.record_decision(AuditAction.COVENANT_PROPOSE, decision, purpose=ADMINISTRATION, object_type="covenant_version",
                       object_id=str(row["id"]), detail={"version": label, "digest": proposal.digest, "demo": True})
    keys, approvals = [], []
    for party in sorted(covenant.parties):
        private = demo_signing_key(runtime, party)
        public = private.public_key()
        key_id = fingerprint(public)
        if party not in registered or registered[party].id != key_id:
            if not any(k.id == key_id for k in registered.values()):
                keys.append(_key_row(key_id, party, public, tx.now))
                tx.record_decision(AuditAction.COVENANT_KEY_ADD, decision, purpose=ADMINISTRATION,
                                   object_type="covenant_key", object_id=key_id, detail={"party": party, "demo": True})
        approvals.append({"id": uuid.uuid4(), "version_id": row["id"], "party": party, "key_id": key_id,
                          "signature": sign_approval(private, covenant.id, covenant.version, proposal.digest),
                          "approved_at": tx.now})
        tx.record_decision(AuditAction.COVENANT_APPROVE, decision, purpose=ADMINISTRATION,
                           object_type="covenant_version", object_id=str(row["id"]),
                           detail={"version": label, "digest": proposal.digest, "party": party, "key_id": key_id,
                                   "demo": True})

    def store(conn: Connection) -> None:
        conn.execute(insert(_versions).values(**row))
        if keys:
            conn.execute(insert(_keys), keys)
        conn.execute(insert(_approvals), approvals)

    tx.write(store)
    tx.commit()
    runtime.versions.remember(row["id"], dataclasses.replace(covenant, digest=proposal.digest))
    runtime.versions.refresh()
    return True
