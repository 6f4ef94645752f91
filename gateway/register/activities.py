"""Which processing activity of the register (art. 15) an audit event served.

An event whose attempt stated a purpose of the covenant served that purpose's activity. An event with no
purpose (or with one that is none of the covenant's: a refusal) served the activity its action belongs to:
the gateway's own operation (tokens, keys, jobs, the trail's sealing) is the administrator's
``covenant_administration``; refused and unauthenticated attempts, and signing in to the privacy
officers' UI, are the security of access that ``oversight`` reviews (art. 8); the deadlines pass serves
``subject_rights`` (art. 13-14); the statistics extract serves ``statistics`` (art. 9.4-9.5). The
purge (art. 9.3) is the administrator's. Every event names an activity (a test runs the demo and checks).
"""

from __future__ import annotations

from audit import AuditAction
from covenant import Covenant

ADMINISTRATION = "covenant_administration"
OVERSIGHT = "oversight"
SUBJECT_RIGHTS = "subject_rights"
STATISTICS = "statistics"

# The purpose whose activity an event without a (known) purpose served, by action; anything not listed
# is a refused or unauthenticated attempt, which the security review of access covers.
_WITHOUT_PURPOSE: dict[str, str] = {
    **{action.value: ADMINISTRATION for action in (
        AuditAction.TOKEN_ISSUE, AuditAction.TOKEN_GRANT, AuditAction.TOKEN_REVOKE, AuditAction.TOKEN_INTROSPECT,
        AuditAction.PARTNER_REGISTER, AuditAction.PARTNER_DEACTIVATE, AuditAction.PARTNER_LIST,
        AuditAction.SIGNING_KEYS_ROTATE, AuditAction.KEYS_ROTATE, AuditAction.DEMO_SEED, AuditAction.SERVICE_START,
        AuditAction.JOB_RUN, AuditAction.JOB_LIST, AuditAction.STAFF_EMAIL, AuditAction.AUDIT_VERIFY,
        AuditAction.AUDIT_SEAL, AuditAction.AUDIT_CHECKPOINTS, AuditAction.AUDIT_PROVE,
        AuditAction.RETENTION_PURGE, AuditAction.RETENTION_RUN, AuditAction.RETENTION_NOTICED,
        AuditAction.CLIENT_KEY_RENEW,
    )},
    **{action.value: SUBJECT_RIGHTS for action in (
        AuditAction.REQUEST_REMINDED, AuditAction.REQUEST_ESCALATED, AuditAction.NOTICE_LIST,
        AuditAction.NOTICE_DISMISS, AuditAction.CLIENT_EXPORT, AuditAction.REQUEST_LETTER,
        AuditAction.RECORD_SHIELD,
    )},
    **{action.value: STATISTICS for action in (AuditAction.RETENTION_EXTRACT, AuditAction.RETENTION_DECISION)},
}


def activity_for(covenant: Covenant, action: str, purpose: str | None) -> str:
    """The identifier of the processing activity an event of ``action`` with ``purpose`` served."""
    if purpose is not None and purpose in covenant.purposes:
        return covenant.activity_of(purpose)
    return covenant.activity_of(_WITHOUT_PURPOSE.get(action, OVERSIGHT))
