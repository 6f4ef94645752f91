"""The processing register (art. 15), decided and audited: for the controller's privacy officers and field
directors (``GET /v1/register``) and the administrator (``gateway register``)."""

from __future__ import annotations

from typing import Any

from audit import AuditAction
from covenant import Action, Resource
from gateway.register.document import build_register
from gateway.errors import GatewayError
from gateway.transaction import Actor, Transaction

ACCOUNTABILITY = "accountability"


def export_register(tx: Transaction, *, purpose: str, export_format: str) -> dict[str, Any]:
    """The register of the covenant in force, recorded as ``register.export`` (refusals too)."""
    decision = tx.authorize(Action.REGISTER_READ, Resource(), purpose=purpose, audit_action=AuditAction.REGISTER_EXPORT,
                            object_type="register", object_id=tx.covenant.label,
                            detail={"format": export_format, "activities": len(tx.covenant.purposes)})
    if not decision.allowed:
        raise tx.refuse(decision)
    return build_register(tx.covenant, now=tx.now)


def export_register_as_administrator(runtime, *, export_format: str) -> dict[str, Any]:
    """``gateway register``: the administrator exports the register (purpose ``accountability``)."""
    tx = Transaction(runtime, access_point="cli:register", actor=Actor.administrator())
    try:
        register = export_register(tx, purpose=ACCOUNTABILITY, export_format=export_format)
    except GatewayError as exc:
        tx.abandon(exc.slug)
        raise
    tx.commit()
    return register
