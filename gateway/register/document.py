"""The processing register (covenant art. 15; GDPR art. 30(1)) generated from the covenant in force.

Pure: the covenant and the moment in, a JSON-able document (and its Markdown) out. One processing
activity per purpose of the covenant, with the purpose's stable identifier (:meth:`Covenant.activity_of`),
the article it rests on, the data subjects, the categories of personal data and of recipients (the
parties, by kind, that the covenant lets read), the retention terms and transfers; then the controller
and the technical and organisational measures (:mod:`gateway.register.measures`). Every audit event
names one of these activities (``activity``), so the trail can be read against the register.

What each activity processes is derived from the actions the covenant lets its purpose serve, so that a
change to the covenant (a new action for a purpose) changes the register with it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from covenant import Action, Covenant
from covenant.model import Role
from gateway.register.measures import MEASURES

# Which personal data an action processes, in the register's words.
_DATA: dict[Action, str] = {
    Action.RECORD_READ: "file",
    Action.RECORD_WRITE: "file",
    Action.CLIENT_REGISTER: "registration",
    Action.CLIENT_READ: "registration",
    Action.CLIENT_LIST: "registration",
    Action.TEAM_READ: "care_team",
    Action.LINK_GRANT: "care_team",
    Action.LINK_END: "care_team",
    Action.EVENT_RECORD: "contacts",
    Action.EMERGENCY_OPEN: "emergency",
    Action.EMERGENCY_REVIEW: "emergency",
    Action.NOTIFICATION_READ: "notifications",
    Action.REQUEST_RECORD: "requests",
    Action.REQUEST_READ: "requests",
    Action.REQUEST_LIST: "requests",
    Action.REQUEST_HANDLE: "requests",
    Action.REQUEST_DECIDE: "requests",
    Action.NOTICE_READ: "requests",
    Action.RETENTION_HOLD: "holds",
    Action.STATISTICS_DECIDE: "statistics",
    Action.AUDIT_READ: "audit",
    Action.AUDIT_VERIFY: "audit",
    Action.AUDIT_SEAL: "audit",
    Action.AUDIT_CHECKPOINTS: "audit",
    Action.AUDIT_PROVE: "audit",
    Action.TOKEN_ISSUE: "staff",
    Action.PARTNER_MANAGE: "staff",
    Action.STAFF_MANAGE: "staff",
    Action.DEMO_SEED: "staff",
    Action.REGISTER_READ: "aggregates",
    Action.REPORT_READ: "aggregates",
}
_DATA_TEXT = {
    "file": "The client's file (art. 6: intake form, care plan, notes, contacts), in the categories below",
    "registration": "Client registration: pseudonym, BSN as a keyed blind index, the informed moment (art. 10), "
                    "last contact, status, client manager",
    "care_team": "The care team: which staff member of which party is linked to the client, when, and why "
                 "(the reason encrypted with the client's key)",
    "contacts": "Contacts of the client with a party, and deletions at the source, reported by partner systems "
                "(art. 9.2-9.3)",
    "emergency": "Break-the-glass windows: who opened the file, when, the reason and its review (encrypted)",
    "notifications": "Notifications of corrections to the parties that received the data (GDPR art. 19): ids only",
    "requests": "The client's access, correction and objection requests (art. 11-14): dates, decisions, reasons "
                "and statements (encrypted), deadline notices",
    "holds": "Legal holds on the client's file (the reason encrypted)",
    "statistics": "The controller's decision to keep a de-identified extract (art. 9.4-9.5)",
    "audit": "Audit events: who (staff id, roles, party) did what to which client (pseudonym only), when, for "
             "which purpose and activity, with what outcome; no content",
    "staff": "Staff members of the parties: id, handle, party, roles, e-mail address for notices; partner "
             "systems and token ids",
    "aggregates": "None: the register itself and counts per party and status, small counts suppressed",
}
_CLIENT_DATA = frozenset({"file", "registration", "care_team", "contacts", "emergency", "notifications", "requests",
                          "holds", "statistics", "audit"})


def _recipients(covenant: Covenant, purpose) -> list[dict[str, Any]]:
    """Art. 30(1)(d): to whom the activity discloses. The file's readers are the parties, by kind, with the
    categories their kind may read (art. 8.1b); controller duties disclose to the roles that carry them."""
    recipients: list[dict[str, Any]] = []
    if Action.RECORD_READ in purpose.actions:
        for kind_code in sorted({party.kind for party in covenant.parties.values()}):
            kind = covenant.party_kinds[kind_code]
            recipients.append({
                "kind": kind_code, "name": kind.name,
                "parties": sorted(code for code, party in covenant.parties.items() if party.kind == kind_code),
                "categories": sorted(kind.read),
                "criminal_justice": kind.criminal_justice,
                "who": "staff linked to the client's care team" + (
                    ", and the client's own client manager" if purpose.roles else ""),
            })
    roles = sorted(role.value for role in purpose.roles if role is not Role.ADMINISTRATOR)
    if roles and not recipients:
        recipients.append({"kind": "roles", "roles": roles, "who": "staff of the covenant's parties in these roles"})
    if Action.REQUEST_DECIDE in purpose.actions:
        recipients.append({"kind": "client", "who": "the client (betrokkene): the access copy and written decisions"})
    if Role.ADMINISTRATOR in purpose.roles:
        recipients.append({"kind": "administrator", "who": "the gateway's administrator (beheerder, art. 3), "
                                                           "who processes on behalf of the controller"})
    return recipients


def _activity(covenant: Covenant, purpose) -> dict[str, Any]:
    data = sorted({_DATA[action] for action in purpose.actions if action in _DATA})
    subjects = (["clients (betrokkenen) in the person-centred approach"] if _CLIENT_DATA.intersection(data) else [])
    subjects.append("staff of the covenant's parties (as actors in the audit trail)")
    personal_data = [{"code": code, "description": _DATA_TEXT[code]} for code in data]
    categories = [{"code": code, "name": covenant.categories[code].name} for code in covenant.categories] \
        if "file" in data else []
    file_term = str(covenant.retention.after_last_contact)
    retention = {"file": f"{file_term} after the client's last contact with any party (art. 9.3)"} \
        if _CLIENT_DATA.intersection(data) - {"audit"} else {}
    retention["audit_trail"] = "append-only, events hold pseudonyms and ids only (NEN 7513: at least five years)"
    return {
        "id": covenant.activity_of(purpose.code),
        "purpose": purpose.code,
        "name": purpose.name,
        "legal_basis": {"covenant_article": purpose.article,
                        "note": "each party provides data under its own statutory task (covenant art. 2)"},
        "actions": sorted(action.value for action in purpose.actions),
        "data_subjects": subjects,
        "personal_data": personal_data,
        "data_categories": categories,
        "recipients": _recipients(covenant, purpose),
        "retention": retention,
        "transfers_outside_eu": "none",
    }


def build_register(covenant: Covenant, *, now: dt.datetime) -> dict[str, Any]:
    """The register of the covenant in force at ``now``, as a JSON-able document."""
    controller = covenant.parties[covenant.controller]
    return {
        "title": "Processing register (covenant art. 15, GDPR art. 30)",
        "covenant": {"id": covenant.id, "version": covenant.version, "name": covenant.name,
                     "digest": covenant.digest},
        "generated_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "controller": {"party": controller.code, "name": controller.name,
                       "kind": covenant.party_kinds[controller.kind].name,
                       "duties_carried_out_by": "the coordination point (field directors) and the client managers "
                                                "(art. 7)"},
        "processor": {"role": "administrator", "who": "the gateway's administrator (beheerder, art. 3)"},
        "parties": [{"party": code, "name": party.name, "kind": party.kind}
                    for code, party in sorted(covenant.parties.items())],
        "activities": [_activity(covenant, covenant.purposes[code]) for code in sorted(covenant.purposes)],
        "retention": {
            "file": f"destroyed at the latest {covenant.retention.after_last_contact} after the client's last "
                    "contact with any party (art. 9.3), or when the source deletes it (art. 9.2); the client's "
                    "data key is destroyed with it",
            "statistics": f"a de-identified extract, only where the controller decided so before the term ended, in "
                          f"groups of at least {covenant.retention.statistics_k} clients (art. 9.4-9.5)",
            "audit_trail": "append-only and sealed; events hold pseudonyms and ids only, never content "
                           "(NEN 7513: at least five years)",
        },
        "transfers": {"outside_eu": "none", "note": "no personal data is transferred to a third country or an "
                                                    "international organisation (GDPR art. 30(1)(e))"},
        "security_measures": [{"code": m.code, "title": m.title, "what": m.what, "where": m.where} for m in MEASURES],
    }


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(register: dict[str, Any]) -> str:
    """The register as Markdown, for the privacy officer and the supervisory authority."""
    covenant, controller = register["covenant"], register["controller"]
    lines = [
        f"# {register['title']}", "",
        f"Covenant: {covenant['name']} (`{covenant['id']}`, version {covenant['version']}, "
        f"digest `{covenant['digest'][:16]}`). Generated {register['generated_at']}.", "",
        "## Controller", "",
        f"{controller['name']} (`{controller['party']}`, {controller['kind']}); its duties are carried out by "
        f"{controller['duties_carried_out_by']}. Processor: {register['processor']['who']}.", "",
        "## Parties", "",
        "| party | name | kind |", "| --- | --- | --- |",
        *(f"| `{p['party']}` | {_cell(p['name'])} | {p['kind']} |" for p in register["parties"]), "",
        "## Processing activities", "",
    ]
    for activity in register["activities"]:
        lines += [
            f"### {_cell(activity['name'])}", "",
            f"- Activity: `{activity['id']}` (purpose `{activity['purpose']}`)",
            f"- Legal basis: covenant art. {activity['legal_basis']['covenant_article']}; "
            f"{activity['legal_basis']['note']}",
            f"- Data subjects: {'; '.join(activity['data_subjects'])}",
            "- Personal data:",
            *(f"  - {item['description']}" for item in activity["personal_data"]),
        ]
        if activity["data_categories"]:
            lines.append("- Data categories (art. 3): " + "; ".join(
                f"`{c['code']}` {c['name']}" for c in activity["data_categories"]))
        lines.append("- Recipients:")
        for recipient in activity["recipients"]:
            if "categories" in recipient:
                lines.append(f"  - {recipient['name']} (`{recipient['kind']}`: "
                             f"{', '.join(recipient['parties'])}): {recipient['who']}; reads "
                             f"{', '.join(recipient['categories'])}")
            elif "roles" in recipient:
                lines.append(f"  - {recipient['who']}: {', '.join(recipient['roles'])}")
            else:
                lines.append(f"  - {recipient['who']}")
        lines += [
            "- Retention: " + "; ".join(f"{key.replace('_', ' ')}: {value}"
                                        for key, value in activity["retention"].items()),
            f"- Transfers outside the EU: {activity['transfers_outside_eu']}",
            f"- Actions: {', '.join(f'`{a}`' for a in activity['actions'])}", "",
        ]
    lines += ["## Retention", "", *(f"- {key.replace('_', ' ')}: {value}"
                                    for key, value in register["retention"].items()), "",
              "## Transfers", "", f"None outside the EU: {register['transfers']['note']}.", "",
              "## Technical and organisational security measures", ""]
    for measure in register["security_measures"]:
        lines += [f"- **{measure['title']}** ({measure['where']}): {measure['what']}"]
    return "\n".join(lines) + "\n"
