"""How a refused decision is answered, without telling anyone more than they may know.

The audit trail records the true reason. The answer to someone who is not linked to a client is
the same whether the client exists or not; only field directors, who keep the client register,
hear that a client does not exist (404).
"""

from __future__ import annotations

from covenant import Decision, Reason, Subject, may_know_client_exists
from gateway.errors import Forbidden, GatewayError, NotFound

_NOT_LINKED = "you have no active care-team link to this client"
_MESSAGES = {
    Reason.STAFF_INACTIVE: "your account is not active",
    Reason.SCOPE_MISSING: "the token does not carry the scope this action needs",
    Reason.PURPOSE_NOT_FOR_ACTION: "the stated purpose does not allow this action (art. 4)",
    Reason.ROLE_NOT_FOR_PURPOSE: "the stated purpose is not one your role may state",
    Reason.ROLE_REQUIRED: "your role does not allow this action",
    Reason.PARTY_UNKNOWN: "your party is not a party to the covenant in force",
    Reason.NOT_LINKED: _NOT_LINKED,
    Reason.LINK_NOT_STARTED: _NOT_LINKED,
    Reason.LINK_ENDED: _NOT_LINKED,
    Reason.PROCESSING_STOPPED: "processing of this client's data has been stopped after an objection (art. 14)",
    Reason.CATEGORY_NOT_PERMITTED: "your party may not do this with data of this category (art. 8)",
    Reason.CRIMINAL_DATA_RESTRICTED:
        "criminal data is only for criminal-justice parties without a prosecutor's approval (art. 5)",
    Reason.NOT_DEMO_MODE: "only in demo mode",
    Reason.ALREADY_LINKED: "you are linked to this client; break-the-glass is for those who are not",
    Reason.EMERGENCY_DISABLED: "the covenant in force does not allow break-the-glass access",
    Reason.NOT_PROSECUTION: "only a prosecutor of a prosecution party approves disclosures of criminal data (art. 5)",
    Reason.NOT_CRIMINAL_DATA: "only criminal data needs a prosecutor's approval to be disclosed (art. 5)",
    Reason.RECIPIENT_UNKNOWN: "the recipient is not a party to the covenant in force",
    Reason.DISCLOSURE_NOT_NEEDED: "criminal-justice parties read criminal data without a disclosure (art. 5)",
    Reason.CLIENT_NOT_INFORMED: "the client has not been informed yet; the intake waits for it (art. 10)",
    Reason.CONSENT_MISSING: "this exchange needs the client's consent, which is not recorded (covenant consents)",
    Reason.CONSENT_WITHDRAWN: "the client has withdrawn their consent to this exchange",
    Reason.NOT_CLIENT_MANAGER: "only the client's own client manager (or a field director, for the care team) may do this",
}
_LINK_REASONS = {Reason.NOT_LINKED, Reason.LINK_NOT_STARTED, Reason.LINK_ENDED}


def refusal(decision: Decision, subject: Subject) -> GatewayError:
    reason = decision.reason
    if reason is Reason.CLIENT_UNKNOWN:
        if may_know_client_exists(subject):
            return NotFound("no client with this id")
        reason = Reason.NOT_LINKED
    elif reason in _LINK_REASONS:
        reason = Reason.NOT_LINKED
    if reason is Reason.ENTRY_UNKNOWN or reason is Reason.ENTRY_SHIELDED:
        # A shielded entry (art. 13) is hidden: to those it is shielded from, it does not exist.
        return NotFound("no entry with this id in this client's file")
    return Forbidden(_MESSAGES.get(reason, "not permitted"), extra={"reason": reason.value})
