"""The technical and organisational security measures (GDPR art. 30(1)(g), art. 32; covenant art. 8), as the
gateway carries them out. Maintained here, beside the code that does them: a change to what the gateway
does changes this list in the same commit. Each names where it is done, so a reviewer can check it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Measure:
    code: str
    title: str
    what: str
    where: str


MEASURES: tuple[Measure, ...] = (
    Measure("client_keys", "Per-client encryption keys",
            "Every client's file, and every free text about the client (care-team reasons, break-the-glass "
            "reasons, requests' statements and reasons, legal-hold reasons), is encrypted with the client's own "
            "AES-256-GCM data key, bound to its client and entry by associated data. Data keys are stored wrapped "
            "by a key-encryption key that is kept in a key folder, never in the database, and can be rotated.",
            "gateway/vault.py"),
    Measure("crypto_shredding", "Crypto-shredding at the end of the term",
            "When a client's term ends (art. 9.3: five years after the last contact), or a source deletes its data "
            "(art. 9.2), the purge destroys the client's data key and rows, so a backup of the database alone "
            "cannot bring the file back; legal holds are the only exception, placed by the controller's privacy "
            "officers.", "gateway/retention/"),
    Measure("least_privilege", "Least-privilege access matrix",
            "A staff member sees a client's file only while linked to the client's care team (Instrument 2e), "
            "only in the data categories their party's kind may read (art. 8.1b), and only for a stated purpose of "
            "the covenant (art. 4); criminal data stays with the criminal-justice parties (art. 5). Every request "
            "is decided by one pure function from the covenant in force; tokens carry scopes per role.",
            "covenant/decide.py, covenant/scopes.py"),
    Measure("audit_trail", "Audit trail, sealed and signed",
            "Every attempt, permitted or refused, is an audit event (NEN 7513 fields, no content, clients by "
            "pseudonym only) written in the same transaction as the change it describes; events are hash-chained "
            "and sealed in Merkle trees whose checkpoints are signed with Ed25519, so any change, removal or "
            "reordering is detected by verification, also by a witness holding only checkpoints. Each event names "
            "the processing activity of this register it served.", "audit/"),
    Measure("break_the_glass_review", "Break-the-glass, flagged and reviewed",
            "Where the covenant allows it, an unlinked staff member may open a file in an emergency for a short "
            "window with a stated reason; every read in the window is flagged in the trail and each opening is "
            "reviewed afterwards by a privacy officer as justified or unjustified.", "gateway/emergency/"),
    Measure("pseudonyms", "Pseudonyms and blind indexes",
            "Outside the encrypted file a client is known by an opaque id and a pseudonym; a BSN or a partner's own "
            "reference is looked up through a keyed HMAC (blind index) whose key is in the key folder. Logs, "
            "errors, URLs and audit events carry no names, BSNs or content.", "gateway/vault.py, gateway/logging.py"),
    Measure("authentication", "Authenticated partner systems and staff",
            "Partner systems authenticate with OAuth 2.0 (private_key_jwt or a client secret), tokens are short-"
            "lived, signed, revocable and checked against the staff member's and system's standing on every "
            "request; the web UI signs in through the party's OpenID Connect provider.",
            "gateway/oauth/, gateway/web/oidc.py"),
    Measure("covenant_as_code", "The covenant as code",
            "The rules (parties, purposes, categories, rights, terms) are a reviewed covenant document, not code; "
            "every decision and audit event names the covenant version it was taken under.",
            "policies/, covenant/"),
)
