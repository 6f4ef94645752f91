"""The protected read over HTTP against the same read with no protection, on SQLite and PostgreSQL.

For each engine: a fresh database (a SQLite file in a temporary folder; two fresh schemas of the
PostgreSQL database ``test``, dropped afterwards) is seeded through the gateway's own services (see
:mod:`bench.dataset`), with a partner system registered per party. Two apps are then served, each in
its own uvicorn process (one worker, uvloop, httptools): the gateway (``gateway.main.create_app``) and
the unprotected baseline (:mod:`bench.plain_app`). Each staff member the benchmark reads as gets an
access token from the running gateway, over HTTP: their party's system posts a signed assertion to
``/oauth/token`` (JWT-bearer grant, RFC 7523). wrk drives ``GET /v1/clients/{client}/entries/{entry}``
with those bearer tokens and ``X-Purpose: wellbeing`` through thousands of distinct (token, client,
entry) triples the covenant allows, and the baseline with the same entries and the same headers, at
concurrency 1 and 16. Afterwards the cost of the token check is measured in-process
(:mod:`bench.token_check`), and the gateway's own chain verification shows that every answered read
and every issued token is in the trail.

Targets (issue): protected throughput at least 0.8x the unprotected one, and the protected p99 at
most 3x its p50.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from audit import AuditAction, AuditEvent
from bench import token_check, wrk
from bench.common import POSTGRES_URL, ROOT, code_state, free_port, load_note, machine, table, write_json
from bench.dataset import READ_PURPOSE, Dataset, seed
from gateway.config import Settings
from gateway.logging import configure_logging
from gateway.operations import verify_trail
from gateway.runtime import Runtime

THROUGHPUT_TARGET = 0.8   # protected / unprotected requests per second, at least
TAIL_TARGET = 3.0         # protected p99 / p50, at most
GATEWAY_ROUTE = "/v1/clients/{client}/entries/{entry}"
PLAIN_ROUTE = "/plain/clients/{client}/entries/{entry}"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_SCOPE = "records:read"
TOKEN_TTL = 3_600  # seconds: the gateway's longest access-token lifetime, so the tokens outlive a run


@dataclass
class Options:
    engines: tuple[str, ...] = ("sqlite", "postgresql")
    concurrencies: tuple[int, ...] = (1, 16)
    seconds: float = 10.0
    warmup_seconds: float = 3.0
    clients: int = 2_000
    requests: int = 4_000           # distinct (token, client, entry) triples in the wrk script
    token_checks: int = 3_000       # verify() calls timed in-process, cold and warm each
    keep: bool = False              # keep the temporary folder (SQLite) for inspection


@dataclass
class Databases:
    home: Path
    data_url: str
    keystore_url: str
    cleanup: Any = None


# --------------------------------------------------------------------------------------------------
# Databases


@contextlib.contextmanager
def databases(engine_name: str, home: Path):
    if engine_name == "sqlite":
        (home / "keys").mkdir(mode=0o700)
        yield Databases(home=home, data_url=f"sqlite:///{home / 'gateway.db'}",
                        keystore_url=f"sqlite:///{home / 'keys' / 'keystore.db'}")
        return
    suffix = secrets.token_hex(4)
    schemas = {"data": f"gw_bench_{suffix}_data", "keystore": f"gw_bench_{suffix}_keys"}
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        for schema in schemas.values():
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        urls = {name: f"{POSTGRES_URL}?options=-csearch_path%3D{schema}" for name, schema in schemas.items()}
        yield Databases(home=home, data_url=urls["data"], keystore_url=urls["keystore"])
    finally:
        with admin.begin() as conn:
            for schema in schemas.values():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def settings_for(dbs: Databases, public_url: str = "http://127.0.0.1:8000") -> Settings:
    """The settings of the gateway server (``bench.serve``) and of this process's Runtime; with the
    server's ``public_url`` this process's TokenService accepts the tokens the server issues."""
    return Settings(_env_file=None, mode="demo", home=dbs.home, database_url=dbs.data_url,
                    keystore_url=dbs.keystore_url, keys_dir=dbs.home / "keys", public_url=public_url,
                    oauth_token_ttl_seconds=TOKEN_TTL, log_format="json", log_level="WARNING")


def postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


# --------------------------------------------------------------------------------------------------
# Servers


class Server:
    """One app served by ``python -m bench.serve`` in a process of its own."""

    def __init__(self, app: str, dbs: Databases, log_path: Path) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = self.url  # the gateway's public URL is its OAuth issuer: the assertions' aud
        config = {"home": str(dbs.home), "database_url": dbs.data_url, "keystore_url": dbs.keystore_url,
                  "keys_dir": str(dbs.home / "keys"), "public_url": self.url, "issuer": self.issuer,
                  "oauth_token_ttl_seconds": TOKEN_TTL}
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", app, "--port", str(self.port), "--config", json.dumps(config)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.app} server exited ({self.process.returncode}); see {self.log.name}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the {self.app} server did not start in {timeout:.0f} s")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far, all threads (from /proc): a figure less noisy
        than throughput on a shared machine."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --------------------------------------------------------------------------------------------------
# The benchmark of one engine


def _triples(dataset: Dataset, count: int, rng: random.Random) -> list[tuple[uuid.UUID, str, str, dict]]:
    """(staff member, client, entry, content) the covenant allows; the staff member's token comes later."""
    allowed = dataset.allowed_reads()
    rng.shuffle(allowed)
    # Spread over every client first, then fill up: many distinct tokens, clients and entries.
    seen, first, rest = set(), [], []
    for staff_id, entry in allowed:
        (rest if entry.client_id in seen else first).append((staff_id, entry))
        seen.add(entry.client_id)
    chosen = (first + rest)[:count]
    rng.shuffle(chosen)
    return [(staff_id, str(entry.client_id), str(entry.id), entry.content) for staff_id, entry in chosen]


def _issue_tokens(gateway: Server, dataset: Dataset, staff_ids, planned_seconds: float) -> tuple[dict, dict]:
    """A token per staff member from the running gateway: their party's system posts an assertion naming
    them to ``/oauth/token`` (JWT-bearer grant), signed for the issuer the gateway announces."""
    tokens: dict[uuid.UUID, str] = {}
    latencies = []
    with httpx.Client(timeout=30) as client:
        metadata = client.get(gateway.url + "/.well-known/oauth-authorization-server").json()
        if metadata["issuer"] != gateway.issuer:
            raise RuntimeError(f"the gateway announces issuer {metadata['issuer']}, not {gateway.issuer}")
        started = time.perf_counter()
        for staff_id in staff_ids:
            system = dataset.systems[dataset.staff[staff_id].party]
            form = {"grant_type": JWT_BEARER, "scope": TOKEN_SCOPE,
                    "assertion": system.assertion(staff_id, audience=metadata["issuer"])}
            sent = time.perf_counter()
            answer = client.post(metadata["token_endpoint"], data=form)
            latencies.append(time.perf_counter() - sent)
            if answer.status_code != 200:
                raise RuntimeError(f"no token for staff member {staff_id} ({answer.status_code}): {answer.text[:300]}")
            body = answer.json()
            if body.get("token_type") != "Bearer" or body.get("scope") != TOKEN_SCOPE:
                shown = {name: value for name, value in body.items() if name != "access_token"}
                raise RuntimeError(f"unexpected token answer: {shown}")
            if body["expires_in"] < planned_seconds + 300:
                raise RuntimeError(f"the tokens live {body['expires_in']} s, too short for a run of "
                                   f"~{planned_seconds:.0f} s")
            tokens[staff_id] = body["access_token"]
        seconds = time.perf_counter() - started
    latencies.sort()
    info = {"issuer": metadata["issuer"], "token_endpoint": metadata["token_endpoint"], "grant_type": JWT_BEARER,
            "scope": TOKEN_SCOPE, "expires_in": body["expires_in"], "tokens": len(tokens),
            "systems": len({dataset.staff[s].party for s in tokens}), "seconds": round(seconds, 2),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2), "max_ms": round(latencies[-1] * 1000, 2)}
    return tokens, info


def _check_answers(gateway: Server, plain: Server, triples, refused, tokens) -> dict[str, Any]:
    """Before measuring: the protected route answers 200 with the content, the baseline the same body."""
    checked = 0
    with httpx.Client(timeout=10) as client:
        for staff_id, client_id, entry_id, content in triples[:50]:
            headers = {"Authorization": f"Bearer {tokens[staff_id]}", "X-Purpose": READ_PURPOSE}
            protected = client.get(gateway.url + GATEWAY_ROUTE.format(client=client_id, entry=entry_id),
                                   headers=headers)
            baseline = client.get(plain.url + PLAIN_ROUTE.format(client=client_id, entry=entry_id), headers=headers)
            if protected.status_code != 200 or protected.json()["content"] != content:
                raise RuntimeError(f"protected read answered {protected.status_code}: {protected.text[:300]}")
            if baseline.status_code != 200 or baseline.json() != protected.json():
                raise RuntimeError(f"baseline differs from the protected read ({baseline.status_code}): "
                                   f"{baseline.text[:300]}")
            checked += 1
        refusals = 0
        for staff_id, entry, why in refused[:20]:
            answer = client.get(gateway.url + GATEWAY_ROUTE.format(client=entry.client_id, entry=entry.id),
                                headers={"Authorization": f"Bearer {tokens[staff_id]}", "X-Purpose": READ_PURPOSE})
            if answer.status_code != 403:
                raise RuntimeError(f"a read the covenant refuses ({why}) answered {answer.status_code}")
            refusals += 1
        bad_token = client.get(gateway.url + GATEWAY_ROUTE.format(client=triples[0][1], entry=triples[0][2]),
                               headers={"Authorization": "Bearer x.y.z", "X-Purpose": READ_PURPOSE})
        if bad_token.status_code != 401:
            raise RuntimeError(f"a bad token answered {bad_token.status_code}")
    return {"identical_bodies": checked, "refused_as_expected": refusals, "bad_token_401": True,
            "response_bytes": len(protected.content)}


def _events(runtime: Runtime, action: str) -> dict[str, int]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.outcome, func.count()).where(AuditEvent.action == action)
                            .group_by(AuditEvent.outcome)).all()
    return {outcome: count for outcome, count in rows}


def run_engine(engine_name: str, options: Options, log=print) -> dict[str, Any]:
    rng = random.Random(7)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{engine_name}-"))
    result: dict[str, Any] = {"engine": engine_name}
    try:
        with databases(engine_name, folder) as dbs:
            settings = settings_for(dbs)
            log(f"  seeding {engine_name} ({options.clients} clients) through the gateway's services ...")
            runtime = Runtime.build(settings)
            try:
                dataset = seed(runtime, clients=options.clients, progress=log)
            finally:
                runtime.close()
            log(f"  seeded in {dataset.timings['total_s']:.1f} s")
            triples = _triples(dataset, options.requests, rng)
            refused = dataset.refused_reads()[:20]
            # One token per staff member read as: in the triples, and in the refusal checks.
            readers = list(dict.fromkeys([t[0] for t in triples] + [r[0] for r in refused]))
            result["dataset"] = {
                "staff": len(dataset.staff), "clients": len(dataset.clients),
                "links": sum(map(len, dataset.links.values())),
                "entries": sum(map(len, dataset.entries.values())),
                "entry_content_chars": len(triples[0][3]["text"]),
                "partner_systems": {party: system.client_id for party, system in dataset.systems.items()},
                "distinct_requests": len(triples),
                "distinct_tokens": len({t[0] for t in triples}),
                "distinct_clients": len({t[1] for t in triples}),
                "seed_seconds": {k: round(v, 2) for k, v in dataset.timings.items()},
            }

            result["code_at_server_start"] = code_state()  # others may be editing the gateway meanwhile
            gateway = Server("gateway", dbs, folder / "gateway-server.log")
            plain = Server("plain", dbs, folder / "plain-server.log")
            servers = {"protected": gateway, "unprotected": plain}
            answered_protected = 0
            try:
                gateway.wait_ready()
                plain.wait_ready()
                planned = len(options.concurrencies) * 2 * (options.warmup_seconds + options.seconds)
                tokens, result["tokens_issued"] = _issue_tokens(gateway, dataset, readers, planned)
                issued = result["tokens_issued"]
                log(f"  {issued['tokens']} tokens issued by the gateway over HTTP (JWT-bearer grant, "
                    f"{issued['systems']} partner systems, aud {issued['issuer']}, scope {issued['scope']}, "
                    f"expires_in {issued['expires_in']} s) in {issued['seconds']:.1f} s, "
                    f"p50 {issued['p50_ms']:.1f} ms per token request")
                scripts = {
                    "protected": wrk.write_script(folder / "protected.lua",
                                                  [GATEWAY_ROUTE.format(client=c, entry=e) for _, c, e, _ in triples],
                                                  [tokens[s] for s, _, _, _ in triples], purpose=READ_PURPOSE),
                    "unprotected": wrk.write_script(folder / "unprotected.lua",
                                                    [PLAIN_ROUTE.format(client=c, entry=e) for _, c, e, _ in triples],
                                                    [tokens[s] for s, _, _, _ in triples], purpose=READ_PURPOSE),
                }
                result["checks"] = _check_answers(gateway, plain, triples, refused, tokens)
                answered_protected += result["checks"]["identical_bodies"]
                log(f"  checked: {result['checks']['identical_bodies']} protected reads answer 200 with the "
                    f"content and the baseline the identical body; "
                    f"{result['checks']['refused_as_expected']} refused reads answer 403; a bad token 401")
                runs = []
                for connections in options.concurrencies:
                    for name in ("unprotected", "protected"):
                        server = servers[name]
                        warm = wrk.run(server.url, scripts[name], connections=connections,
                                       seconds=options.warmup_seconds)
                        cpu_before = server.cpu_seconds()
                        measured = wrk.run(server.url, scripts[name], connections=connections,
                                           seconds=options.seconds)
                        cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / max(1, measured.requests)
                        if name == "protected":
                            answered_protected += (warm.requests - warm.non2xx) + (measured.requests - measured.non2xx)
                        runs.append({"route": name, **measured.as_dict(), "warmup_requests": warm.requests,
                                     "warmup_non2xx": warm.non2xx, "server_cpu_ms_per_request": round(cpu_ms, 3)})
                        log(f"  {engine_name:10} c={connections:<3} {name:11} {measured.requests_per_s:8,.0f} req/s  "
                            f"p50 {measured.p50_ms:6.2f} ms  p99 {measured.p99_ms:7.2f} ms  "
                            f"server CPU {cpu_ms:5.2f} ms/request  non-2xx {measured.non2xx}")
                result["runs"] = runs
            finally:
                gateway.stop()
                plain.stop()

            # The token check in-process, with a Runtime on the gateway server's settings (same key folder,
            # issuer and audience), on the tokens the server issued; then every answered read and every
            # issued token is in the trail, and the chain is intact.
            runtime = Runtime.build(settings_for(dbs, public_url=gateway.url), prepare=False)
            try:
                if runtime.tokens.issuer != result["tokens_issued"]["issuer"]:
                    raise RuntimeError(f"in-process issuer {runtime.tokens.issuer} is not the server's")
                result["token_check"] = token_check.measure(runtime.tokens, [tokens[s] for s in readers],
                                                            calls=options.token_checks, ttl_seconds=TOKEN_TTL)
                result["token_check"]["share_of_protected_request"] = token_check.shares(result["token_check"],
                                                                                         result["runs"])
                check = result["token_check"]
                log(f"  token check in-process (TokenService.verify): cold {check['cold_fresh']['median_us']:.1f} us "
                    f"median / {check['cold_fresh']['p99_us']:.1f} us p99 (fresh tokens), warm (cached) "
                    f"{check['warm']['median_us']:.2f} us / {check['warm']['p99_us']:.2f} us")
                started = time.perf_counter()
                report = verify_trail(runtime)
                verify_s = time.perf_counter() - started
                reads = _events(runtime, AuditAction.RECORD_READ.value)
                grants = _events(runtime, AuditAction.TOKEN_GRANT.value)
            finally:
                runtime.close()
            result["trail"] = {"intact": report.ok, "events": report.events, "verify_seconds": round(verify_s, 2),
                               "record_read_events": reads,
                               "protected_reads_answered_200": answered_protected,
                               "every_answered_read_audited": reads.get("permit", 0) >= answered_protected,
                               "token_grant_events": grants,
                               "every_issued_token_audited": grants.get("permit", 0) == len(tokens)}
            log(f"  trail: {report.describe()} in {verify_s:.1f} s; record.read permits in the trail "
                f"{reads.get('permit', 0):,} >= protected reads answered 200: {answered_protected:,} "
                f"-> {result['trail']['every_answered_read_audited']}; token.grant permits "
                f"{grants.get('permit', 0)} == tokens issued {len(tokens)} "
                f"-> {result['trail']['every_issued_token_audited']}")
            result["summary"] = summarise(result["runs"], options.concurrencies)
    finally:
        if options.keep:
            log(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def summarise(runs: list[dict], concurrencies) -> list[dict]:
    rows = []
    for connections in concurrencies:
        by_route = {run["route"]: run for run in runs if run["connections"] == connections}
        protected, plain = by_route["protected"], by_route["unprotected"]
        ratio = protected["requests_per_s"] / plain["requests_per_s"] if plain["requests_per_s"] else 0.0
        tail = protected["p99_ms"] / protected["p50_ms"] if protected["p50_ms"] else float("inf")
        rows.append({
            "connections": connections,
            "throughput_ratio": round(ratio, 3),
            "throughput_target": THROUGHPUT_TARGET,
            # A run with errors measured something else (refusals are cheap): it meets no target.
            "throughput_ok": ratio >= THROUGHPUT_TARGET and all(r["non2xx"] == 0 for r in by_route.values()),
            "protected_p99_over_p50": round(tail, 2),
            "tail_target": TAIL_TARGET,
            "tail_ok": tail <= TAIL_TARGET and all(r["non2xx"] == 0 for r in by_route.values()),
            "p50_ratio": round(protected["p50_ms"] / plain["p50_ms"], 2) if plain["p50_ms"] else None,
            "cpu_ratio": round(protected["server_cpu_ms_per_request"] / plain["server_cpu_ms_per_request"], 2)
            if plain["server_cpu_ms_per_request"] else None,
            "no_errors": all(r["non2xx"] == 0 and not any(r["errors"].values()) for r in by_route.values()),
        })
    return rows


def print_engine(result: dict[str, Any], log=print) -> None:
    engine = result["engine"]
    log("")
    log(f"Read path on {engine}: {result['dataset']['clients']:,} clients, {result['dataset']['links']:,} links, "
        f"{result['dataset']['entries']:,} entries of ~{result['dataset']['entry_content_chars']:,} chars; "
        f"{result['dataset']['distinct_requests']:,} distinct requests "
        f"({result['dataset']['distinct_tokens']} tokens, {result['dataset']['distinct_clients']:,} clients)")
    log(table(["conc", "route", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "CPU ms/req", "requests",
               "non-2xx", "errors"],
              [[r["connections"], r["route"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["p999_ms"], r["max_ms"],
                r["server_cpu_ms_per_request"], r["requests"], r["non2xx"], sum(r["errors"].values())]
               for r in result["runs"]]))
    log("")
    log(table(["conc", "throughput protected/unprotected", "target", "p99/p50 protected", "target",
               "p50 protected/unprotected", "server CPU per request protected/unprotected"],
              [[s["connections"], f"{s['throughput_ratio']:.2f}x", f">= {s['throughput_target']}x "
                + ("MET" if s["throughput_ok"] else "MISSED" if s["no_errors"] else "INVALID (non-2xx)"),
                f"{s['protected_p99_over_p50']:.2f}x", f"<= {s['tail_target']}x "
                + ("MET" if s["tail_ok"] else "MISSED" if s["no_errors"] else "INVALID (non-2xx)"),
                f"{s['p50_ratio']:.2f}x", f"{s['cpu_ratio']:.2f}x"] for s in result["summary"]]))
    issued = result.get("tokens_issued")
    if issued:
        log("")
        log(f"Tokens: {issued['tokens']} issued by the running gateway over HTTP (JWT-bearer grant from "
            f"{issued['systems']} registered partner systems, aud {issued['issuer']}, scope {issued['scope']}, "
            f"expires_in {issued['expires_in']} s): {issued['seconds']:.1f} s, p50 {issued['p50_ms']:.1f} ms, max {issued['max_ms']:.1f} ms per token request")
    check = result.get("token_check")
    if check:
        log(table(["TokenService.verify(), in-process", "calls", "median us", "p99 us"],
                  [[name, check[key]["calls"], check[key]["median_us"], check[key]["p99_us"]] for name, key in (
                      ("cold: fresh tokens (ES256 signature + claims)", "cold_fresh"),
                      ("cold: the issued tokens, first verification", "cold_issued"),
                      ("warm: cached claims", "warm"),
                      ("timer overhead (not subtracted)", "timer_overhead"))]))
        log(table(["conc", "protected server CPU us/req", "protected p50 us", "warm verify / CPU",
                   "warm verify / p50", "if cold every time: / CPU", "/ p50"],
                  [[r["connections"], r["server_cpu_us_per_request"], r["p50_us"],
                    f"{r['warm_share_of_cpu_pct']:.3f}%", f"{r['warm_share_of_p50_pct']:.3f}%",
                    f"{r['cold_share_of_cpu_pct']:.1f}%", f"{r['cold_share_of_p50_pct']:.1f}%"]
                   for r in check["share_of_protected_request"]]))
        log(f"Note: {check['not_in_verify']}. In the server each distinct token is verified cold once, the first "
            f"time it is seen (the checks and warm-up); every later request is a cache hit.")


def main(options: Options | None = None, log=print) -> dict[str, Any]:
    options = options or Options()
    configure_logging(console=False, level="WARNING")
    if not os.path.exists(wrk.WRK):
        raise SystemExit("wrk is needed for the read-path benchmark (apt-get install wrk)")
    document: dict[str, Any] = {"benchmark": "read_path", "machine": machine(),
                                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                "options": {k: (list(v) if isinstance(v, tuple) else v)
                                            for k, v in options.__dict__.items()},
                                "targets": {"throughput_ratio_min": THROUGHPUT_TARGET, "p99_over_p50_max": TAIL_TARGET},
                                "engines": {}}
    code = document["machine"]["code"]
    log(f"Code measured: commit {code['commit']}" + (f", with local changes to {', '.join(code['modified'])}"
                                                      if code["modified"] else "") + f"; {load_note()}")
    for engine_name in options.engines:
        if engine_name == "postgresql":
            problem = postgres_reachable()
            if problem:
                log(f"  PostgreSQL unreachable at {POSTGRES_URL}: {problem}; skipped")
                document["engines"][engine_name] = {"skipped": problem}
                continue
        log(f"Read path, {engine_name}:")
        result = run_engine(engine_name, options, log=log)
        document["engines"][engine_name] = result
        write_json("read_path.json", document)
    for result in document["engines"].values():
        if "runs" in result:
            print_engine(result, log=log)
    path = write_json("read_path.json", document)
    log(f"\nFigures written to {path.relative_to(ROOT)}. They vary from run to run: compare within one run.")
    return document
