"""The API's scopes, in one registry, and which of them a token may carry for whom.

A scope narrows what a token may be used for; it never widens what the covenant allows. Whether a
staff member may read a client's file is decided per request from the care-team link, the party's
rights and the purpose (:func:`covenant.decide`); the scope only says that the token was asked for
that kind of use.
"""

from __future__ import annotations

from covenant.model import Role

SCOPES: dict[str, str] = {
    "records:read": "Read the files (entries, care team) of clients the staff member is linked to",
    "records:write": "Add entries to the files of clients the staff member is linked to",
    "team:manage": "Register clients and manage their care team (client managers, field directors)",
    "requests:handle": "Handle clients' access, correction and objection requests (art. 13, 14)",
    "audit:read": "Read the audit trail (privacy officers)",
    "events:write": "Report a client's contacts and deletions at the source, from a partner system",
    "reports:read": "Read the processing register and the monthly report (the controller's privacy officers, field directors)",
    "disclosures:approve": "Approve and revoke the disclosure of criminal data to a party (art. 5; prosecutors)",
    "notifications:read": "Fetch and acknowledge the notifications sent to the party (GDPR art. 19: corrections)",
}

STAFF_SCOPES = frozenset({"records:read", "records:write", "notifications:read"})
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.CLIENT_MANAGER: frozenset({"team:manage", "requests:handle"}),
    Role.FIELD_DIRECTOR: frozenset({"team:manage", "reports:read"}),
    Role.PRIVACY_OFFICER: frozenset({"audit:read", "requests:handle", "reports:read"}),
    Role.PROSECUTOR: frozenset({"disclosures:approve"}),
}
# A partner system acting on its own, for no staff member, only reports what happened at its side, and
# fetches what the gateway tells its party (GDPR art. 19: a correction of data the party received).
SYSTEM_SCOPES = frozenset({"events:write", "notifications:read"})


def scopes_for(roles: frozenset[Role]) -> frozenset[str]:
    """The scopes a token for a subject with ``roles`` may carry."""
    if Role.SYSTEM in roles:
        return SYSTEM_SCOPES
    scopes = set(STAFF_SCOPES)
    for role in roles:
        scopes |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(scopes)
