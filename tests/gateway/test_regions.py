"""Several covenants in one gateway (issue 7): each region has its own runtime, database, key folder and
covenant, and no route leads from one to another.

The default region (the ``runtime`` fixture) is served at the root, regions ``region-a`` and
``region-b`` under ``/regions/<id>``. All are seeded with the same demo, whose ids are deterministic:
the same staff ids and the same client id exist in each, the strongest case for a path from one to
another.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import create_engine, func, select, text

from audit import AuditAction, AuditEvent, Outcome, verify_chain
from gateway import operations
from gateway.clients.models import Client
from gateway.config import Settings
from gateway.db import create_db_engine, migrate
from gateway.jobs.service import run_job
from gateway.regions import DEFAULT, RegionDispatcher, RegionError, create_gateway_app, regions_of, settings_for
from gateway.retention.jobs import purge_job
from gateway.runtime import Runtime
from tests.conftest import (
    HTTP_TIMEOUT,
    POSTGRES_URL,
    Databases,
    LoopbackServer,
    _postgres_reachable,
    _reset_postgres,
)
from tests.gateway.helpers import auth, token

A, B = "region-a", "region-b"
REGIONS = (A, B)
DAY_AFTER_TERM = dt.date(2031, 11, 24)  # the demo client, registered at START, is past its five-year term
GATEWAY = [sys.executable, "-m", "gateway.cli"]


# --- the further regions' own databases -----------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_regions():
    """Each further region's own two schemas (data, key store), apart from the default region's."""
    problem = _postgres_reachable()
    if problem:
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {problem}")
    suffix = secrets.token_hex(4)
    admin = create_engine(POSTGRES_URL)
    found, schemas = {}, []
    for region in REGIONS:
        urls = {}
        for name in ("data", "keystore"):
            schema = f"gw_test_{suffix}_{region.replace('-', '_')}_{name}"
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            urls[name] = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
            engine = create_db_engine(urls[name], writer=True)
            migrate(engine, name)
            engine.dispose()
        found[region] = Databases(data_url=urls["data"], keystore_url=urls["keystore"])
    yield found
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def region_databases(engine_name, tmp_path, request) -> dict[str, Databases]:
    if engine_name == "postgresql":
        found = request.getfixturevalue("postgres_regions")
        for databases in found.values():
            _reset_postgres(databases)
        return found
    found = {}
    for region in REGIONS:
        folder = tmp_path / region
        folder.mkdir(exist_ok=True)
        found[region] = Databases(data_url=f"sqlite:///{folder / 'gateway.db'}",
                                  keystore_url=f"sqlite:///{folder / 'keys' / 'keystore.db'}")
    return found


def regions_file(tmp_path: Path, region_databases: dict[str, Databases]) -> Path:
    path = tmp_path / "regions.json"
    covenant = str(Path("policies/demo-region.toml").resolve())  # the same covenant, the same demo: the hard case
    path.write_text(json.dumps({region: {"covenant_file": covenant, "database_url": databases.data_url,
                                         "keystore_url": databases.keystore_url,
                                         "keys_dir": str(tmp_path / region / "keys")}
                                for region, databases in region_databases.items()}))
    return path


@pytest.fixture
def settings_regions(settings, region_databases, tmp_path) -> Settings:
    """The default region's settings with the further regions configured."""
    for region in REGIONS:
        (tmp_path / region).mkdir(exist_ok=True)
    return Settings(_env_file=None, mode="demo", home=settings.home, database_url=settings.database_url,
                    keystore_url=settings.keystore_url, keys_dir=settings.keys_dir, log_format="json",
                    public_url=settings.public_url, regions=regions_file(tmp_path, region_databases))


@pytest.fixture
def regional(settings_regions, clock):
    built = {}
    try:
        for region in REGIONS:
            built[region] = Runtime.build(settings_for(settings_regions, region), clock=clock)
        yield built
        for runtime in built.values():
            trail_intact(runtime)
    finally:
        for runtime in built.values():
            runtime.close()


@pytest.fixture
def runtimes(runtime, regional) -> dict:
    return {DEFAULT: runtime, **regional}


@pytest.fixture
def demos(demo, regional) -> dict:
    from gateway.demo import seed_demo

    return {DEFAULT: demo, **{region: seed_demo(runtime) for region, runtime in regional.items()}}


@pytest.fixture
def runtime_b(regional):
    return regional[B]


@pytest.fixture
def demo_b(demos):
    return demos[B]


@pytest.fixture
def both(runtimes, demos, port):
    """Every region served by one app over loopback, as ``gateway serve`` serves them."""
    with LoopbackServer(create_gateway_app(runtimes), port) as server, \
            httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as http:
        yield http


def prefix(region: str) -> str:
    return "" if region == DEFAULT else f"/regions/{region}"


def trail_intact(runtime) -> None:
    with runtime.engine.connect() as conn:
        report = verify_chain(conn)
    assert report.ok, report.describe()


def trail_size(runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AuditEvent))


def refusals(runtime, reason: str) -> int:
    with runtime.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.AUTH_REJECTED, AuditEvent.outcome == Outcome.DENY,
            AuditEvent.reason == reason))


def first_ids(runtime) -> dict[str, list[str]]:
    """Real ids of the region's rows for each path parameter (and one that names nothing)."""
    tables = {"entry_id": "entry", "link_id": "care_link", "consent_id": "consent",
              "disclosure_id": "criminal_disclosure", "access_id": "emergency_access", "request_id": "rights_request",
              "hold_id": "legal_hold", "notification_id": "rights_notification", "event_id": "audit_event",
              "client_id": "client"}
    ids: dict[str, list[str]] = {}
    with runtime.engine.connect() as conn:
        for parameter, table in tables.items():
            found = conn.execute(text(f"SELECT id FROM {table} LIMIT 1")).scalar()
            ids[parameter] = [str(uuid.UUID(str(found)))] if found is not None else []
    return ids


# --- the setting ---------------------------------------------------------------------------------------

def test_each_region_takes_nothing_of_another(tmp_path):
    default = Settings(_env_file=None, home=tmp_path, public_url="http://127.0.0.1:8000")
    table = tmp_path / "regions.toml"
    table.write_text(f'[{B}]\ncovenant_file = "b.toml"\ndatabase_url = "postgresql://db/b"\nkeys_dir = "b-keys"\n')
    regional = settings_for(default.model_copy(update={"regions": table}), B)
    assert regional.public_url == regional.issuer == "http://127.0.0.1:8000/regions/region-b"
    assert regional.audience == "covenant-gateway:region-b" != default.audience
    assert regional.data_url == "postgresql+psycopg://db/b"
    assert regional.key_folder == tmp_path / "b-keys" != default.key_folder
    assert regional.key_store_url == f"sqlite:///{tmp_path / 'b-keys' / 'keystore.db'}"
    assert regional.covenant_file == tmp_path / "b.toml"
    assert regional.regions is None and regional.oidc_providers == {}
    assert settings_for(default, None) is default and settings_for(default, DEFAULT) is default


@pytest.mark.parametrize("entry, message", [
    ({"covenant_file": "b.toml", "database_url": "sqlite:///{home}/gateway.db", "keys_dir": "b"}, "share a database"),
    ({"covenant_file": "b.toml", "database_url": "sqlite:///b.db", "keys_dir": "{home}/keys",
      "keystore_url": "sqlite:///b-keys.db"}, "share a key folder"),
    ({"covenant_file": "b.toml", "database_url": "sqlite:///b.db", "keys_dir": "b",
      "keystore_url": "sqlite:///{home}/keys/keystore.db"}, "share a database or key store"),
    ({"covenant_file": "b.toml", "database_url": "sqlite:///b.db"}, "keys_dir"),
    ({"covenant_file": "b.toml", "database_url": "sqlite:///b.db", "keys_dir": "b", "public_url": "x"}, "public_url"),
])
def test_regions_that_would_share_anything_are_refused_at_start(tmp_path, entry, message):
    table = tmp_path / "regions.json"
    table.write_text(json.dumps({B: entry}).replace("{home}", str(tmp_path)))
    with pytest.raises(ValueError, match=message):
        Settings(_env_file=None, home=tmp_path, regions=table)


@pytest.mark.parametrize("document", ['{"default": {}}', '{"Region B": {}}', '{"-b": {}}', '[]', '{'])
def test_a_region_id_is_a_code_and_the_file_must_parse(tmp_path, document):
    table = tmp_path / "regions.json"
    table.write_text(document)
    with pytest.raises(RegionError):
        regions_of(Settings(_env_file=None, home=tmp_path).model_copy(update={"regions": table}))


def test_an_unknown_region_is_refused(tmp_path):
    with pytest.raises(RegionError, match="no region"):
        settings_for(Settings(_env_file=None, home=tmp_path), "nowhere")


# --- no path from one region to another ---------------------------------------------------------------

def _requests(document: dict, ids: list[dict[str, list[str]]]):
    """Every operation that takes a token, once for each combination of the regions' real ids."""
    for path, operations_ in document["paths"].items():
        for method, operation in operations_.items():
            if "security" not in operation:
                continue  # public on purpose (key sets, checkpoints, the token endpoint): no token to refuse
            for region_ids in ids:
                url = re.sub(r"{(\w+)}", lambda m: (region_ids.get(m.group(1)) or [str(uuid.uuid4())])[0], path)
                yield method, url, path


def _sweep(http, prefix: str, document: dict, ids, bearers: dict[str, str], secrets_: list[str]) -> int:
    sent = 0
    for method, url, path in _requests(document, ids):
        for role, bearer in bearers.items():
            response = http.request(method.upper(), prefix + url, headers=auth(bearer),
                                    json={} if method in ("post", "put", "patch") else None)
            sent += 1
            assert response.status_code in (401, 403, 404), (role, method, path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json"), (role, method, path)
            assert not any(secret in response.text for secret in secrets_), (role, method, path)
    return sent


def test_no_route_leads_from_one_region_to_another(runtimes, demos, both):
    """For every operation that takes a token, in every region (at the root and under each prefix), every
    demo role of every other region is refused, with the ids of both regions in the path."""
    assert all(found.clients == demos[DEFAULT].clients and found.staff == demos[DEFAULT].staff
               for found in demos.values())  # the same ids everywhere
    documents = {region: both.get(f"{prefix(region)}/openapi.json").json() for region in runtimes}
    assert documents[B]["servers"] == [{"url": f"/regions/{B}"}]
    assert set(documents[DEFAULT]["paths"]) == set(documents[A]["paths"]) == set(documents[B]["paths"])
    ids = {region: first_ids(runtime) for region, runtime in runtimes.items()}
    tokens = {region: {role: token(runtime, staff_id) for role, staff_id in demos[region].staff.items()}
              for region, runtime in runtimes.items()}
    client = demos[DEFAULT].clients[0]
    own = {region: both.get(f"{prefix(region)}/v1/clients/{client}/entries",
                            headers=auth(tokens[region]["client_manager"])) for region in runtimes}
    assert all(answer.status_code == 200 and answer.json() for answer in own.values())

    for target, runtime in runtimes.items():
        for home in runtimes:
            if home == target:
                continue
            sizes = {region: trail_size(other) for region, other in runtimes.items()}
            before = refusals(runtime, "token_key_unknown")
            secrets_ = [runtimes[home].tokens.issuer, *tokens[home].values(), own[target].text,
                        *(item["id"] for item in own[target].json())]
            sent = _sweep(both, prefix(target), documents[target], [ids[target], ids[home]], tokens[home], secrets_)
            assert sent > 6 * 40
            # Each refusal is in the trail of the region it was presented to (a key it never had), and
            # nothing is in any other region's trail.
            assert refusals(runtime, "token_key_unknown") - before == sent == trail_size(runtime) - sizes[target]
            assert all(trail_size(other) == sizes[region] for region, other in runtimes.items() if region != target)


def test_a_foreign_token_fails_on_its_issuer_and_audience_too(runtime, demo, runtime_b, demo_b):
    """Even signed with the right key, a token naming another region's issuer or audience is refused."""
    from gateway.tokens import InvalidToken, TokenService

    staff = demo.staff["client_manager"]
    as_b = TokenService(runtime.tokens.ring, issuer=runtime_b.tokens.issuer, audience=runtime_b.settings.audience)
    forged = as_b.mint(subject=staff, scopes=frozenset({"records:read"}), client_id="x", party="p",
                       now=runtime.clock(), ttl_seconds=600)
    with pytest.raises(InvalidToken, match="token_issuer_invalid"):
        runtime.tokens.verify(forged, runtime.clock())
    as_b_audience = TokenService(runtime.tokens.ring, issuer=runtime.tokens.issuer,
                                 audience=runtime_b.settings.audience)
    with pytest.raises(InvalidToken, match="token_audience_invalid"):
        runtime.tokens.verify(as_b_audience.mint(subject=staff, scopes=frozenset(), client_id="x", party="p",
                                                 now=runtime.clock(), ttl_seconds=600), runtime.clock())
    with pytest.raises(InvalidToken, match="token_key_unknown"):
        runtime_b.tokens.verify(token(runtime, staff), runtime_b.clock())


def test_a_region_serves_its_own_oauth_under_its_prefix(runtime, demo, runtime_b, demo_b, both):
    key = ECKey.generate_key("P-256", private=True, parameters={"kid": "b-1", "use": "sig", "alg": "ES256"})
    registration = operations.register_partner(runtime_b, party=demo_b.parties["shelter"], name="B shelter",
                                               jwks=json.dumps({"keys": [key.as_dict(private=False)]}))
    metadata = both.get(f"/regions/{B}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == runtime_b.tokens.issuer == f"{runtime.settings.public_url}/regions/{B}"
    assert metadata["token_endpoint"] == f"{metadata['issuer']}/oauth/token"
    now = int(runtime_b.clock().timestamp())
    assertion = jwt.encode({"alg": "ES256", "kid": key.kid}, {
        "iss": registration.client_id, "sub": demo_b.staff["client_manager"], "aud": metadata["issuer"],
        "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(16)}, key)
    client_assertion = jwt.encode({"alg": "ES256", "kid": key.kid}, {
        "iss": registration.client_id, "sub": registration.client_id, "aud": metadata["token_endpoint"],
        "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(16)}, key)
    issued = both.post(f"/regions/{B}/oauth/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion})
    assert issued.status_code == 200, issued.text
    bearer = issued.json()["access_token"]
    url = f"/v1/clients/{demo.clients[0]}/entries"
    assert both.get(f"/regions/{B}{url}", headers=auth(bearer)).status_code == 200
    refused = both.get(url, headers=auth(bearer))
    assert refused.status_code == 401
    assert refusals(runtime, "token_key_unknown") == 1
    # B's partner system is unknown at the default region's token endpoint: it was registered in B only.
    assert both.post("/oauth/token", data={"grant_type": "client_credentials",
                                           "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:"
                                                                    "jwt-bearer",
                                           "client_assertion": client_assertion}).status_code == 401
    assert both.get("/regions/nowhere/v1/clients", headers=auth(bearer)).status_code == 404
    assert both.get("/healthz").status_code == both.get(f"/regions/{B}/healthz").status_code == 200


def _signed_in(runtime, action=AuditAction.UI_SIGN_IN) -> list[tuple[str, str | None]]:
    with runtime.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(AuditEvent.outcome, AuditEvent.actor_id)
                                                   .where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def test_each_region_has_its_own_web_ui_and_a_session_of_one_is_none_in_another(runtimes, demos, both):
    """The UI under each prefix, with a session cookie named for its region and signed with its key: the
    same demo staff id signed in to region B is nobody at the root or in region A."""
    runtime_b = runtimes[B]
    form = both.get(f"/regions/{B}/ui/sign-in")
    assert form.status_code == 200
    assert f"/regions/{B}/ui/static/ui.css" in form.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    signed = both.post(f"/regions/{B}/ui/sign-in", data={"handle": "demo.privacy_officer", "csrf_token": csrf})
    assert signed.status_code == 303 and f"/regions/{B}/ui/" in signed.headers["location"]
    session_b = both.cookies.get(f"gateway-ui-{B}")
    assert session_b and both.cookies.get("gateway-ui") is None
    officer = demos[B].staff["privacy_officer"]
    assert _signed_in(runtime_b) == [("permit", officer)]
    assert _signed_in(runtimes[DEFAULT]) == _signed_in(runtimes[A]) == []

    page = both.get(f"/regions/{B}/ui/events")
    assert page.status_code == 200 and "Search the trail" in page.text
    assert f"/regions/{B}/ui/denied" in page.text  # the navigation stays in the region
    assert _signed_in(runtime_b, AuditAction.AUDIT_READ)[-1] == ("permit", officer)

    # At the root and in region A the browser (with B's cookie) is not signed in.
    root = both.get("/ui/events", follow_redirects=False)
    assert root.status_code == 303 and root.headers["location"].endswith("/ui/sign-in")
    assert "/regions/" not in root.headers["location"]
    # B's session, replayed under the cookie names of the root and of A, is no session there.
    for region, name in ((DEFAULT, "gateway-ui"), (A, f"gateway-ui-{A}")):
        before = refusals(runtimes[region], "session_invalid")
        with httpx.Client(base_url=str(both.base_url), timeout=HTTP_TIMEOUT) as stranger:
            answer = stranger.get(f"{prefix(region)}/ui/events", headers={"Cookie": f"{name}={session_b}"},
                                  follow_redirects=False)
        assert answer.status_code == 303, (region, answer.text)
        assert refusals(runtimes[region], "session_invalid") == before + 1
        assert _signed_in(runtimes[region], AuditAction.AUDIT_READ) == []
    assert refusals(runtime_b, "session_invalid") == 0

    # Signed in to the root as well, the browser holds two sessions, each good only where it was made.
    form = both.get("/ui/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    assert both.post("/ui/sign-in", data={"handle": "demo.privacy_officer", "csrf_token": csrf}).status_code == 303
    assert both.cookies.get("gateway-ui") and both.cookies.get(f"gateway-ui-{B}") == session_b
    assert both.get("/ui/events").status_code == both.get(f"/regions/{B}/ui/events").status_code == 200


def test_a_regions_own_providers_are_https_in_production(tmp_path):
    table = tmp_path / "regions.json"
    provider = {"issuer": "http://idp.example/realms/b", "client_id": "gateway", "client_secret": "s"}
    table.write_text(json.dumps({B: {"covenant_file": "b.toml", "database_url": "postgresql://db/b", "keys_dir": "b",
                                     "oidc_providers": {"opvang-de-haven": provider}}}))
    demo = Settings(_env_file=None, home=tmp_path).model_copy(update={"regions": table})
    assert settings_for(demo, B).oidc_providers["opvang-de-haven"].issuer == provider["issuer"]
    assert settings_for(demo, None).oidc_providers == {}  # the default's own, not B's
    production = demo.model_copy(update={"mode": "production"})
    with pytest.raises(RegionError, match="OpenID Connect issuers must be https"):
        regions_of(production)


def test_purging_one_region_leaves_the_other_untouched(runtime, demo, runtime_b, demo_b):
    client_id = uuid.UUID(demo.clients[0])
    run = run_job(runtime_b, purge_job(today=DAY_AFTER_TERM), manual=True)
    assert run.outcome != "error"
    with runtime_b.session() as session:
        assert session.get(Client, client_id) is None
    with runtime.session() as session:
        assert session.get(Client, client_id) is not None
    assert runtime.settings.key_folder != runtime_b.settings.key_folder
    assert runtime.tokens.ring.active().kid != runtime_b.tokens.ring.active().kid
    trail_intact(runtime)
    trail_intact(runtime_b)


def test_a_dispatcher_without_regions_is_the_default_app(runtime):
    app = create_gateway_app({DEFAULT: runtime})
    assert not isinstance(app, RegionDispatcher) and app.state.runtime is runtime


# --- the command line, one region at a time ------------------------------------------------------------

def test_the_command_line_administers_one_region_at_a_time(databases, region_databases, tmp_path):
    (tmp_path / "keys").mkdir(exist_ok=True, mode=0o700)
    for region in REGIONS:
        (tmp_path / region).mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_HOME=str(tmp_path), GATEWAY_DATABASE_URL=databases.data_url,
               GATEWAY_KEYSTORE_URL=databases.keystore_url, GATEWAY_KEYS_DIR=str(tmp_path / "keys"),
               GATEWAY_LOG_FORMAT="json", GATEWAY_SCHEDULER="false",
               GATEWAY_REGIONS=str(regions_file(tmp_path, region_databases)))

    def gateway(*args, check=True):
        result = subprocess.run([*GATEWAY, *args], env=env, capture_output=True, text=True, timeout=120,
                                cwd=Path(__file__).resolve().parents[2])
        if check:
            assert result.returncode == 0, result.stderr
        return result

    seeded = json.loads(gateway("demo", "--region", B, "--json").stdout)
    assert (tmp_path / "region-b" / "keys" / "token-signing.json").exists()
    assert not (tmp_path / "keys" / "token-signing.json").exists()  # the default region was not touched
    assert not (tmp_path / A / "keys").exists()  # nor region A
    gateway("--region", B, "audit", "verify")
    # The command line runs on the wall clock, so the demo client was registered today: a day six years
    # on is past its five-year term whatever today is.
    past_term = dt.date(dt.date.today().year + 6, 1, 1)
    purged = gateway("purge", "--today", past_term.isoformat(), "--region", B)
    assert "1 client(s) destroyed" in purged.stdout
    bearer = gateway("token", "--region", B, "--staff", seeded["staff"]["client_manager"]).stdout.strip()
    assert bearer.count(".") == 2
    gateway("audit", "verify", "--region", B)
    unknown = gateway("audit", "verify", "--region", "nowhere", check=False)
    assert unknown.returncode == 2 and "no region 'nowhere'" in unknown.stderr
    serving = gateway("serve", "--region", B, check=False)
    assert serving.returncode == 2 and "serves every region" in serving.stderr
    with create_db_engine(databases.data_url).connect() as conn:  # the default region's trail: nothing of this
        assert conn.scalar(select(func.count()).select_from(AuditEvent)) == 0

    # gateway serve serves every region in one process, each with its own start on its own trail.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*GATEWAY, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert health.status_code == 200
        for region in REGIONS:
            assert httpx.get(f"{base}/regions/{region}/healthz", timeout=HTTP_TIMEOUT).status_code == 200
        headers = {"Authorization": f"Bearer {bearer}", "X-Purpose": "housing"}
        mine = httpx.get(f"{base}/regions/{B}/v1/clients", headers=headers, timeout=HTTP_TIMEOUT)
        assert mine.status_code == 200  # the purge took the demo client; the list is B's own, empty
        for elsewhere in ("", f"/regions/{A}"):
            refused = httpx.get(f"{base}{elsewhere}/v1/clients", headers=headers, timeout=HTTP_TIMEOUT)
            assert refused.status_code == 401, elsewhere
    finally:
        server.terminate()
        server.wait(timeout=30)
    for url in (databases.data_url, region_databases[A].data_url, region_databases[B].data_url):
        with create_db_engine(url).connect() as conn:
            starts = conn.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == AuditAction.SERVICE_START))
            rejected = conn.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == AuditAction.AUTH_REJECTED))
        assert starts == (2 if url == region_databases[B].data_url else 1), url  # B's demo started it too
        assert rejected == (0 if url == region_databases[B].data_url else 1), url


def test_regions_count_their_rates_apart_in_a_shared_storage(runtime, runtime_b):
    """With a storage shared by several instances (redis://), one region's partner systems do not use
    up another's rate: the keys carry the region's audience."""
    from gateway.ratelimit import RateLimiter, TooManyRequests

    limiter_a = RateLimiter("1/hour", namespace=runtime.settings.audience + "/")
    limiter_b = RateLimiter("1/hour", namespace=runtime_b.settings.audience + "/")
    limiter_b._limiter = type(limiter_a._limiter)(limiter_a._storage)  # one storage, as redis:// would be
    limiter_a.check("client:gateway-cli")
    limiter_b.check("client:gateway-cli")
    with pytest.raises(TooManyRequests):
        limiter_b.check("client:gateway-cli")
    assert runtime.rate_limiter._namespace != runtime_b.rate_limiter._namespace
