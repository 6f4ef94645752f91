"""The audit trail's own figures: appends per second, verification speed, and review queries on a
large trail.

    python -m bench audit [--appends 20000] [--threads 8] [--events 10000000] [--engines sqlite,postgresql]
                          [--scale-schema NAME] [--appends-baseline REVISION]

1. **Appends**: the gateway's group committer (:class:`audit.GroupCommitter`) on a fresh trail, with
   ``--threads`` threads each committing units of one event and waiting for durability, as requests do.
   With ``--appends-baseline REVISION`` (e.g. ``0006when``) first on a trail migrated only to that
   revision, then at head, in the same run: what a change to the trail's indexes costs the appends.
2. **Verification**: :func:`audit.verify_chain` over the trail just written (events/s).
3. **Review queries at scale** (PostgreSQL): ``--events`` rows generated server-side in the
   ``audit_event`` table (pseudonyms, actors, parties, actions, outcomes and moments spread as in a
   region's trail; hashes random, so this trail is not meant to verify), then pages of 100 through
   :func:`audit.query.events` with the filters a privacy officer uses, each run 15 times: median, p95
   and the first (cold) run.

Figures go to ``bench/out/audit_trail.json``. Numbers, not pass/fail.
"""

from __future__ import annotations

import datetime as dt
import inspect
import secrets
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import AuditAction, EventDraft, GroupCommitter, Outcome, UnitOfWork, verify_chain
from audit import seal as audit_seal
from audit.verify import verify_sealed
from audit import query as audit_query
from bench.common import POSTGRES_URL, write_json
from bench.read_path import postgres_reachable
from alembic import command
from gateway.db import alembic_config, create_db_engine, migrate

PAGE = 100


@dataclass(frozen=True)
class Options:
    engines: tuple[str, ...] = ("sqlite", "postgresql")
    appends: int = 20_000
    threads: int = 8
    events: int = 10_000_000
    scale_schema: str | None = None  # keep the generated trail in this schema and reuse it next time
    appends_baseline: str | None = None  # also measure appends at this earlier revision of the data branch


def _draft(number: int) -> EventDraft:
    return EventDraft(action=AuditAction.RECORD_READ, outcome=Outcome.PERMIT, reason="permitted",
                      occurred_at=dt.datetime.now(dt.UTC), actor_id=f"bench-actor-{number % 200}",
                      actor_party="opvang-de-haven", client_pseudonym=f"CL-BNCH-{number % 5000:04d}",
                      object_type="entry", object_id=str(number), purpose="wellbeing", access_point="bench")


def _migrate_to(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["database"] = "data"
        command.upgrade(config, revision)


def appends_and_verification(url: str, options: Options, log=print, *, revision: str | None = None) -> dict[str, Any]:
    writer = create_db_engine(url, writer=True, pool_size=2)
    if revision is None:
        migrate(writer, "data")
    else:
        _migrate_to(writer, revision)
    committer = GroupCommitter(writer)
    per_thread = options.appends // options.threads
    latencies: list[float] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        mine = []
        for number in range(offset, offset + per_thread):
            started = time.perf_counter()
            committer.commit(UnitOfWork(events=[_draft(number)]))
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(index * per_thread,)) for index in range(options.threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    committer.close()
    appended = per_thread * options.threads
    latencies.sort()
    reader = create_db_engine(url)
    with reader.connect() as conn:
        started = time.perf_counter()
        report = verify_chain(conn)
        verify_seconds = time.perf_counter() - started
    # Sealing: one signed checkpoint over everything appended, then the trail checked against it.
    key = Ed25519PrivateKey.generate()
    started = time.perf_counter()
    checkpoint = audit_seal.seal(reader, writer, key, now=dt.datetime.now(dt.UTC))
    seal_seconds = time.perf_counter() - started
    with reader.connect() as conn:
        started = time.perf_counter()
        sealed_report = verify_sealed(conn, [checkpoint], {checkpoint.key_id: key.public_key()})
        sealed_seconds = time.perf_counter() - started
    reader.dispose()
    writer.dispose()
    result = {"revision": revision or "head", "appended": appended, "threads": options.threads, "seconds": round(elapsed, 2),
              "events_per_s": round(appended / elapsed), "commit_p50_ms": round(latencies[len(latencies) // 2] * 1e3, 2),
              "commit_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1e3, 2),
              "verified": report.ok, "verified_events": report.events,
              "verify_seconds": round(verify_seconds, 2)}
    counted = result["verified_events"] or appended
    result["verify_events_per_s"] = round(counted / verify_seconds) if verify_seconds else None
    result.update(seal_seconds=round(seal_seconds, 2), seal_events_per_s=round(checkpoint.tree_size / seal_seconds),
                  verify_sealed_ok=sealed_report.ok, verify_sealed_events_per_s=round(sealed_report.events / sealed_seconds))
    log(f"  appends ({result['revision']}): {appended:,} events from {options.threads} threads in {elapsed:.1f} s = "
        f"{result['events_per_s']:,} events/s (commit p50 {result['commit_p50_ms']} ms, p99 {result['commit_p99_ms']} ms)")
    log(f"  verify: {counted:,} events in {verify_seconds:.2f} s = {result['verify_events_per_s']:,} events/s "
        f"({'intact' if report.ok else 'BROKEN'})")
    log(f"  seal: a signed checkpoint over {checkpoint.tree_size:,} events in {seal_seconds:.2f} s = "
        f"{result['seal_events_per_s']:,} events/s; verify against it: {result['verify_sealed_events_per_s']:,} "
        f"events/s ({'intact' if sealed_report.ok else 'BROKEN'})")
    return result


_GENERATE = """
INSERT INTO audit_event (seq, id, occurred_at, action, outcome, reason, actor_id, actor_roles, actor_party,
                         client_pseudonym, object_type, object_id, categories, purpose, covenant_version,
                         access_point, source_system, request_id, prev_hash, hash)
SELECT n,
       md5(n::text)::uuid,
       timestamp '2021-11-23' + (n::double precision / CAST(:total AS double precision)) * interval '5 years',
       (ARRAY['record.read','record.read','record.read','record.list','record.write','client.read',
              'team.read','link.grant','link.end','token.grant','audit.read','event.contact'])[1 + n % 12],
       CASE WHEN n % 97 = 0 THEN 'deny' WHEN n % 1009 = 0 THEN 'error' ELSE 'permit' END,
       CASE WHEN n % 97 = 0 THEN 'not_linked' ELSE 'permitted' END,
       'staff-' || ((n * 7919) % 4000),
       'staff',
       (ARRAY['opvang-de-haven','ggz-rivierland','politie-eenheid-demo','gemeente-demostad','woonstad-demo',
              'reclassering','ggd','verslavingszorg','om','dji','sociale-dienst','zorgkantoor'])[1 + (n * 31) % 12],
       'CL-' || lpad(((n * 104729) % 40000)::text, 5, '0'),
       'entry', md5((n + 1)::text), 'ordinary', 'wellbeing', 'model@1', 'GET /v1/clients/{client_id}/entries',
       'bench-system', md5((n + 2)::text),
       decode(md5((n - 1)::text), 'hex'), decode(md5(n::text), 'hex')
FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS n
"""


def _timed(run: Callable[[], Any], repeats: int = 15) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1e3)
    ordered = sorted(times[1:])
    return {"cold_ms": round(times[0], 2), "median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2), "max_ms": round(max(times), 2)}


def queries_at_scale(url: str, options: Options, log=print) -> dict[str, Any]:
    engine = create_db_engine(url, writer=True, pool_size=2)
    migrate(engine, "data")
    started = time.perf_counter()
    chunk = 1_000_000
    with engine.connect() as conn:
        present = conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_event")).scalar_one()
        conn.rollback()
        if present:
            log(f"    reusing the {present:,} events already in the schema")
        for start in range(present + 1, options.events + 1, chunk):
            stop = min(options.events, start + chunk - 1)
            with conn.begin():
                conn.execute(text(_GENERATE), {"start": start, "stop": stop, "total": options.events})
            log(f"    {stop:,} events generated ({time.perf_counter() - started:.0f} s)")
        with conn.begin():
            conn.execute(text("ANALYZE audit_event"))
    generated_s = time.perf_counter() - started
    log(f"  generated {options.events:,} events in {generated_s:.0f} s")

    accepted = set(inspect.signature(audit_query.events).parameters)
    middle = options.events // 2
    month = {"occurred_from": dt.datetime(2023, 6, 1, tzinfo=dt.UTC),
             "occurred_until": dt.datetime(2023, 7, 1, tzinfo=dt.UTC)}
    reader = create_db_engine(url)
    with Session(reader) as session:
        first = audit_query.events(session, limit=PAGE, **month)
    period_next = first[-1].seq if first else None  # where the period's second page starts
    cases: dict[str, dict[str, Any]] = {
        "newest page, no filter": {},
        "one client (pseudonym)": {"client_pseudonym": "CL-01234"},
        "one staff member": {"actor_id": "staff-1234"},
        "one party (another party's privacy officer)": {"actor_party": "ggz-rivierland"},
        "one client, one party": {"client_pseudonym": "CL-01234", "actor_party": "opvang-de-haven"},
        "page deep in the trail (before = middle)": {"before_seq": middle},
        "one staff member, deep": {"actor_id": "staff-1234", "before_seq": middle},
    }
    optional = {
        "denied attempts": {"outcome": "deny"},
        "one action, denied": {"action": "record.write", "outcome": "deny"},
        "a period two years back": month,
        "a period two years back, next page": {**month, "before_seq": period_next},
        "a period two years back, one party": {**month, "actor_party": "ggz-rivierland"},
        "a year, one staff member": {"actor_id": "staff-1234", "occurred_from": dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
                                     "occurred_until": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)},
        "denied, one party, a period": {"outcome": "deny", "actor_party": "politie-eenheid-demo",
                                        "occurred_from": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                                        "occurred_until": dt.datetime(2024, 3, 1, tzinfo=dt.UTC)},
    }
    cases.update({name: kwargs for name, kwargs in optional.items() if set(kwargs) <= accepted})
    results = {}
    with Session(reader) as session:
        for name, kwargs in cases.items():
            found = []
            figures = _timed(lambda: found.append(len(audit_query.events(session, limit=PAGE, **kwargs))))
            figures["rows"] = found[0]
            results[name] = figures
            log(f"    {name:48} cold {figures['cold_ms']:8.1f} ms  median {figures['median_ms']:7.1f} ms  "
                f"p95 {figures['p95_ms']:7.1f} ms  rows {figures['rows']}")
    skipped = sorted(set(optional) - set(cases))
    reader.dispose()
    engine.dispose()
    return {"events": options.events, "generate_seconds": round(generated_s), "page": PAGE, "queries": results,
            "not_measured": skipped}


def main(options: Options | None = None, log=print) -> dict[str, Any]:
    options = options or Options()
    out: dict[str, Any] = {"options": options.__dict__}
    for engine_name in options.engines:
        log(f"Audit trail, {engine_name}:")
        if engine_name == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
            out["sqlite"] = {"appends": appends_and_verification(f"sqlite:///{folder / 'trail.db'}", options, log)}
            continue
        problem = postgres_reachable()
        if problem is not None:
            log(f"  PostgreSQL unreachable ({problem}): skipped")
            continue
        base = POSTGRES_URL
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        schemas = [f"gw_bench_audit_{secrets.token_hex(3)}_appends",
                   options.scale_schema or f"gw_bench_audit_{secrets.token_hex(3)}_scale"]
        if options.appends_baseline:
            schemas.append(f"gw_bench_audit_{secrets.token_hex(3)}_baseline")
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        try:
            urls = [f"{base}?options=-csearch_path%3D{schema}" for schema in schemas]
            result = {}
            if options.appends_baseline:
                result["appends_baseline"] = appends_and_verification(urls[2], options, log,
                                                                      revision=options.appends_baseline)
            result["appends"] = appends_and_verification(urls[0], options, log)
            if options.events:
                result["queries"] = queries_at_scale(urls[1], options, log)
            out["postgresql"] = result
        finally:
            with admin.connect() as conn:
                for schema in schemas:
                    if schema != options.scale_schema:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    write_json("audit_trail.json", out)
    return out
