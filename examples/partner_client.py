"""An example partner system talking to the covenant gateway, with Authlib's OAuth 2 client.

It does what a partner's integration does:

1. ``keygen``: make the system's signing key; the public half (``--public``) is what the gateway's
   administrator registers with ``gateway partners add --party ... --name ... --jwks FILE``.
2. ``run``: read the gateway's metadata (RFC 8414); get a token for the system itself
   (``client_credentials`` with ``private_key_jwt``) and check it at the introspection endpoint;
   get a token for one of the party's staff members (JWT-bearer grant, RFC 7523 §2.1) and list a
   client's entries with it; finally revoke the staff token (RFC 7009).

    python examples/partner_client.py keygen --private system-key.json --public system-jwks.json
    python examples/partner_client.py run --gateway http://127.0.0.1:8000 --client-id ID \\
        --key system-key.json --staff STAFF_ID_OR_HANDLE --client CLIENT_ID --purpose wellbeing

It prints ids, counts and status codes only, never the content of a file.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from authlib.integrations.httpx_client import AssertionClient, OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

ALG = "ES256"
ASSERTION_LIFETIME = 120  # seconds; the gateway accepts at most five minutes


def generate_key(private_path: Path, public_path: Path) -> str:
    """A P-256 signing key for the system: the private JWK stays with the system (0600)."""
    key = ECKey.generate_key("P-256", private=True, parameters={"kid": f"system-{secrets.token_hex(4)}",
                                                                "use": "sig", "alg": ALG})
    private_path.touch(mode=0o600)
    private_path.write_text(json.dumps(key.as_dict(private=True)))
    public_path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}, indent=2))
    return key.kid


@dataclass
class Outcome:
    system_scopes: str
    system_token_active: bool
    staff_scopes: str
    entries_status: int
    entries: int
    revoked: bool


def run(gateway: str, *, client_id: str, key: dict, staff: str, client: str, purpose: str,
        verify: bool = True) -> Outcome:
    metadata = httpx.get(f"{gateway}/.well-known/oauth-authorization-server", verify=verify).json()
    token_endpoint, issuer = metadata["token_endpoint"], metadata["issuer"]
    headers = {"kid": key["kid"]}

    # The system itself: client_credentials, authenticated with a signed client assertion.
    signing_key = ECKey.import_key(key)
    system = OAuth2Client(client_id, signing_key, token_endpoint_auth_method="private_key_jwt",
                          revocation_endpoint_auth_method="private_key_jwt", verify=verify)
    system.register_client_auth_method(PrivateKeyJWT(token_endpoint, headers=headers, alg=ALG))
    system_token = system.fetch_token(token_endpoint, grant_type="client_credentials", scope="events:write")
    introspection = system.introspect_token(metadata["introspection_endpoint"], token=system_token["access_token"],
                                            token_type_hint="access_token").json()

    # A staff member of the system's party: the JWT-bearer grant, an assertion naming them.
    with AssertionClient(token_endpoint, issuer=client_id, subject=staff, audience=issuer, key=signing_key,
                         header=headers, alg=ALG, expires_in=ASSERTION_LIFETIME, verify=verify,
                         scope="records:read") as session:
        entries = session.get(f"{gateway}/v1/clients/{client}/entries", headers={"X-Purpose": purpose})
        staff_token = session.token
        revoked = system.revoke_token(metadata["revocation_endpoint"], token=staff_token["access_token"],
                                      token_type_hint="access_token")
    count = len(entries.json()) if entries.status_code == 200 else 0
    return Outcome(system_scopes=system_token.get("scope", ""), system_token_active=introspection["active"],
                   staff_scopes=staff_token.get("scope", ""), entries_status=entries.status_code, entries=count,
                   revoked=revoked.status_code == 200)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    keygen = verbs.add_parser("keygen", help="make the system's signing key")
    keygen.add_argument("--private", type=Path, required=True)
    keygen.add_argument("--public", type=Path, required=True)
    flow = verbs.add_parser("run", help="the whole flow against a running gateway")
    flow.add_argument("--gateway", default="http://127.0.0.1:8000")
    flow.add_argument("--client-id", required=True, help="the system's client id (from gateway partners add)")
    flow.add_argument("--key", type=Path, required=True, help="the system's private JWK")
    flow.add_argument("--staff", required=True, help="the staff member to act for (id or handle)")
    flow.add_argument("--client", required=True, help="the id of a client the staff member is linked to")
    flow.add_argument("--purpose", default="wellbeing")
    args = parser.parse_args(argv)
    if args.verb == "keygen":
        kid = generate_key(args.private, args.public)
        print(f"key {kid}: private in {args.private}, public key set in {args.public}")
        return 0
    outcome = run(args.gateway.rstrip("/"), client_id=args.client_id, key=json.loads(args.key.read_text()),
                  staff=args.staff, client=args.client, purpose=args.purpose)
    print(f"system token: scopes '{outcome.system_scopes}', active: {outcome.system_token_active}")
    print(f"staff token: scopes '{outcome.staff_scopes}'")
    print(f"GET entries: {outcome.entries_status}, {outcome.entries} entries")
    print(f"staff token revoked: {outcome.revoked}")
    return 0 if outcome.entries_status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
