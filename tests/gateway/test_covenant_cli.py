"""``gateway covenant ...`` as an administrator and the parties use it: real processes, files and databases."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from covenant.signing import fingerprint, public_key_pem, sign_approval
from tests.gateway.test_cli import env, gateway  # noqa: F401 (env is a fixture)
from tests.gateway.test_covenant_versions import PARTIES, write_covenant


def status(env) -> dict:
    return {v["version"]: v for v in json.loads(gateway(env, "covenant", "status", "--json").stdout)}


def test_propose_register_approve_status_diff_round_trip(env, tmp_path):
    gateway(env, "demo")
    assert status(env)["1"]["state"] == "in_force"
    keys = Path(env["GATEWAY_KEYS_DIR"]) / "covenant-signing"

    # The shelter brings a key of its own and signs offline.
    own = Ed25519PrivateKey.generate()
    (tmp_path / "haven.pub").write_bytes(public_key_pem(own.public_key()))
    added = gateway(env, "covenant", "keys", "add", "opvang-de-haven", str(tmp_path / "haven.pub"))
    assert fingerprint(own.public_key()) in added.stdout

    proposed = gateway(env, "covenant", "propose", str(write_covenant(tmp_path / "v2", version="2")))
    assert "proposed demo-region@2" in proposed.stdout and "opvang-de-haven" in proposed.stdout
    digest = status(env)["2"]["digest"]

    forged = gateway(env, "covenant", "approve", "2", "--party", "opvang-de-haven", "--signature",
                     sign_approval(Ed25519PrivateKey.generate(), "demo-region", "2", digest), check=False)
    assert forged.returncode == 1 and "refused" in forged.stderr and "not a signature of demo-region@2" in forged.stderr
    assert status(env)["2"]["approvals"] == []

    for party in PARTIES:
        if party == "opvang-de-haven":
            result = gateway(env, "covenant", "approve", "demo-region@2", "--party", party, "--signature",
                             sign_approval(own, "demo-region", "2", digest))
        else:
            result = gateway(env, "covenant", "approve", "2", "--party", party, "--key", str(keys / f"{party}.pem"))
        assert f"{party} approved demo-region@2" in result.stdout
    assert "every party has approved" in result.stdout
    again = gateway(env, "covenant", "approve", "2", "--party", "ggz-rivierland", "--key",
                    str(keys / "ggz-rivierland.pem"), check=False)
    assert again.returncode == 1 and "in force" in again.stderr

    versions = status(env)
    assert (versions["1"]["state"], versions["2"]["state"]) == ("superseded", "in_force")
    assert versions["2"]["missing"] == [] and len(versions["2"]["approvals"]) == len(PARTIES)
    text = gateway(env, "covenant", "status").stdout
    assert "demo-region@2  in_force" in text and "approved by opvang-de-haven" in text

    diff = gateway(env, "covenant", "diff", "1", "2").stdout
    assert diff.startswith("--- demo-region@1") and '+    "version": "2"' in diff

    listed = json.loads(gateway(env, "covenant", "keys", "list", "--json").stdout)
    key_id = fingerprint(own.public_key())
    assert {k["key_id"] for k in listed} >= {key_id}
    gateway(env, "covenant", "keys", "revoke", key_id)
    twice = gateway(env, "covenant", "keys", "revoke", key_id, check=False)
    assert twice.returncode == 1 and "revoked already" in twice.stderr
    assert gateway(env, "audit", "verify").returncode == 0


def test_production_refuses_to_serve_without_a_version_in_force(env, tmp_path):
    region = write_covenant(tmp_path / "region", version="1")
    production = {**env, "GATEWAY_MODE": "production", "GATEWAY_COVENANT_FILE": str(region),
                  "GATEWAY_PUBLIC_URL": "https://gateway.example.org",
                  "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
                  "GATEWAY_KEYSTORE_URL": f"sqlite:///{tmp_path / 'fresh-keys.db'}",
                  "GATEWAY_KEYS_DIR": str(tmp_path / "fresh-keys")}
    refused = gateway(production, "serve", "--host", "127.0.0.1", "--port", "1", check=False)
    assert refused.returncode == 2, refused.stderr
    assert "no covenant version is in force" in refused.stderr
    # The administrator proposes the first version under the file's rules; it is not in force yet.
    proposed = gateway(production, "covenant", "propose", str(region))
    assert "awaiting approval by" in proposed.stdout
    assert gateway(production, "serve", "--host", "127.0.0.1", "--port", "1", check=False).returncode == 2
