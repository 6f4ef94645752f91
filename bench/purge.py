"""The retention purge at scale: how many clients per second :func:`gateway.retention.service.purge`
destroys, on SQLite and on PostgreSQL.

    python -m bench purge [--engines sqlite,postgresql] [--clients 100000] [--entries 10] [--batch-size 500]

Per engine (a SQLite file and key store in a temporary folder, removed afterwards; two fresh
PostgreSQL schemas, dropped afterwards):

1. **Generate** (timed apart, not in the figure). The demo region's parties and cast
   (:func:`gateway.demo.seed_demo`), then ``--clients`` clients as the gateway holds them, written in
   bulk (SQLite: ``executemany``; PostgreSQL: ``COPY``) rather than through the API one by one, which
   would take hours at this scale: per client a data key, made and wrapped by the vault's own KEK
   (``Vault._wrap``, the active KEK of the key folder), a ``client`` row with a random pseudonym, the
   client manager's ``care_link`` with its reason sealed under the client's key, and ``--entries``
   notes of ``--content-size`` characters (every second one ``special``), each sealed with the client's
   data key and the associated data the records service binds it to (``_entry_aad``). Every client is
   past term on the purge date (registered 5-8 years before it, half with a last contact, older than
   five years too). A few are kept inside the term: registered long ago with a recent contact,
   registered recently, and one whose term ends on the purge date itself (one day short); the demo
   client is kept as well. Before the purge a sample of the generated entries and reasons is decrypted
   through :meth:`gateway.vault.Vault.decrypt`, so the bulk rows are what the gateway writes. The audit
   trail gets no generated events (only the demo's). PostgreSQL: ``ANALYZE`` after generating, as
   autovacuum would have done long before a real purge.
2. **Purge**: ``purge(runtime, today=..., batch_size=...)`` end to end, timed with
   ``time.perf_counter``: the plan, every batch (mark with the statistics hook, shred the keys, delete
   the rows with one ``retention.purge`` event per client), the orphan-key check and both WAL
   truncations (SQLite). The time per batch (mark to deleted) is taken by wrapping the service's
   ``_mark_or_replan`` and ``_finish`` for the run; the plan and the WAL truncations likewise.
3. **Verify**: no client, entry, care link or data key left of the purged clients; the kept ones'
   rows and keys all there and every kept entry decrypting to what was written; one
   ``retention.purge`` event per purged client and one ``retention.run``; the whole trail verifies
   (:func:`audit.verify_chain`). SQLite: both WALs empty after the run.

Figures go to ``bench/out/purge.json``. Numbers, not pass/fail (a failed check stops the benchmark).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, insert, select, text

from audit import AuditAction, verify_chain
from audit.models import AuditEvent
from bench.common import load_note, machine, table, write_json
from bench.dataset import note_text
from bench.read_path import databases, postgres_reachable, settings_for
from gateway.care.models import CareLink
from gateway.care.service import _link_aad
from gateway.clients.models import Client, ClientStatus
from gateway.clients.service import new_pseudonym
from gateway.demo import seed_demo
from gateway.parties.models import Staff
from gateway.records.models import Entry
from gateway.records.service import _entry_aad
from gateway.retention import service as retention
from gateway.runtime import Runtime
from gateway.vault import _FORMAT, _NONCE, ClientKey

PURPOSE = "wellbeing"
LINK_REASON = "registered the client as client manager"
CHUNK = 1_000          # clients per bulk-insert transaction
DISTINCT_NOTES = 500   # note texts cycled through (each ciphertext differs: its own nonce, key and AAD)
WAL_AFTER_MAX = 1 << 20  # bytes: the closing event's pages, far less than any purged batch
SAMPLE = 200           # generated clients whose entries are decrypted through the vault before the purge


@dataclass(frozen=True)
class Options:
    engines: tuple[str, ...] = ("sqlite", "postgresql")
    clients: int = 100_000
    entries: int = 10
    batch_size: int = 500
    content_size: int = 500   # characters per note
    kept: int = 12            # clients inside the term, checked untouched
    keep: bool = False        # keep the SQLite folder


# --- generation -------------------------------------------------------------------------------------

@dataclass
class Generated:
    today: dt.date
    purged: list[uuid.UUID]
    kept: list[uuid.UUID]
    kept_entries: dict[uuid.UUID, bytes]           # entry id -> the payload written (kept clients only)
    entries: int
    per_client: int
    timings: dict[str, float]


def _moments(runtime: Runtime, today: dt.date, count: int, kept: int, rng: random.Random):
    """(created_at, last_contact_at) per generated client: ``count - kept`` past term, then ``kept`` inside."""
    zone = runtime.settings.zone
    last_past = retention.last_day_past_term(runtime.covenant.retention.after_last_contact, today)

    def moment(day: dt.date) -> dt.datetime:
        at = dt.datetime.combine(day, dt.time(9), zone) + dt.timedelta(minutes=rng.randrange(600))
        return at.astimezone(dt.UTC)

    for _ in range(count - kept):
        created = last_past - dt.timedelta(days=rng.randrange(3 * 365))
        contact = None if rng.random() < 0.5 else created + dt.timedelta(days=rng.randrange((last_past - created).days + 1))
        yield True, moment(created), (moment(contact) if contact else None)
    for n in range(kept):
        if n == 0:  # its term ends on the purge date: one day short, untouched
            yield False, moment(last_past - dt.timedelta(days=400)), moment(last_past + dt.timedelta(days=1))
        elif n % 2:  # registered long ago, a recent contact
            yield False, moment(last_past - dt.timedelta(days=900)), moment(today - dt.timedelta(days=rng.randrange(1, 1500)))
        else:  # registered recently, no contact
            yield False, moment(today - dt.timedelta(days=rng.randrange(1, 1500))), None


def _bulk(conn, model, rows: list[dict]) -> None:
    """Insert ``rows``: PostgreSQL through COPY, SQLite through executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(model), rows)
        return
    columns = list(rows[0])
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_naive(row[column]) for column in columns])


def _naive(value):
    if isinstance(value, dt.datetime):  # UTCDateTime stores UTC without a zone
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def generate(runtime: Runtime, options: Options, today: dt.date, log=print) -> Generated:
    rng = random.Random(20261123)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    demo = seed_demo(runtime)
    manager_id = uuid.UUID(demo.staff["client_manager"])
    with runtime.session() as session:
        party = session.get(Staff, manager_id).party_id
    demo_clients = [uuid.UUID(client) for client in demo.clients]

    kek_id = runtime.vault._ring.active_id()
    notes = [json.dumps({"content": {"text": note_text(rng, options.content_size)}, "source_reference": None},
                        separators=(",", ":"), ensure_ascii=False).encode() for _ in range(DISTINCT_NOTES)]
    reason = LINK_REASON.encode()
    purged: list[uuid.UUID] = []
    kept: list[uuid.UUID] = []
    kept_entries: dict[uuid.UUID, bytes] = {}
    plan = list(_moments(runtime, today, options.clients, options.kept, rng))
    entry_count = 0
    for start in range(0, len(plan), CHUNK):
        keys, clients, links, entries = [], [], [], []
        for past, created, contact in plan[start:start + CHUNK]:
            client_id = uuid.uuid4()
            (purged if past else kept).append(client_id)
            raw = AESGCM.generate_key(bit_length=256)
            cipher = AESGCM(raw)
            keys.append({"client_id": client_id, "version": 1, "kek_id": kek_id, "created_at": created,
                         "wrapped_key": runtime.vault._wrap(client_id, 1, raw, kek_id)})
            clients.append({"id": client_id, "pseudonym": new_pseudonym(), "bsn_index": None, "informed_at": created,
                            "last_contact_at": contact, "status": ClientStatus.ACTIVE.value,
                            "registered_by": manager_id, "client_manager_id": manager_id, "created_at": created})
            link_id = uuid.uuid4()
            nonce = os.urandom(_NONCE)
            links.append({"id": link_id, "client_id": client_id, "staff_id": manager_id, "since": created,
                          "until": None, "granted_by": manager_id, "ended_by": None, "end_reason": None,
                          "key_version": 1, "reason": _FORMAT + nonce + cipher.encrypt(
                              nonce, reason, _link_aad(client_id, link_id, "reason"))})
            for n in range(options.entries):
                payload = notes[entry_count % DISTINCT_NOTES]
                values = {"id": uuid.uuid4(), "client_id": client_id, "kind": "note",
                          "category": "special" if n % 2 else "ordinary", "source_party_id": party,
                          "source_reference_index": None, "confidentiality_ground": None, "purpose": PURPOSE,
                          "key_version": 1, "created_by": manager_id,
                          "created_at": created + dt.timedelta(days=n), "shielded_at": None}
                nonce = os.urandom(_NONCE)
                values["ciphertext"] = _FORMAT + nonce + cipher.encrypt(
                    nonce, payload, _entry_aad(SimpleNamespace(**values)))
                entries.append(values)
                if not past:
                    kept_entries[values["id"]] = payload
                entry_count += 1
        # The key first, as registration does: a client row never exists without its key.
        with runtime.keystore_writer.begin() as conn:
            _bulk(conn, ClientKey, keys)
        with runtime.writer_engine.begin() as conn:
            _bulk(conn, Client, clients)
            _bulk(conn, CareLink, links)
            _bulk(conn, Entry, entries)
        done = start + len(plan[start:start + CHUNK])
        if done % 20_000 == 0 or done == len(plan):
            log(f"    {done:,} clients, {entry_count:,} entries ({time.perf_counter() - started:.0f} s)")
    timings["insert_s"] = time.perf_counter() - started
    phase = time.perf_counter()
    for engine in (runtime.writer_engine, runtime.keystore_writer):
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    timings["analyze_s"] = time.perf_counter() - phase
    _check_sample(runtime, rng.sample(purged, min(SAMPLE, len(purged))) + kept)
    timings["total_s"] = time.perf_counter() - started
    return Generated(today=today, purged=purged, kept=kept + demo_clients, kept_entries=kept_entries,
                     entries=entry_count, per_client=options.entries, timings=timings)


def _check_sample(runtime: Runtime, clients: list[uuid.UUID]) -> None:
    """The bulk rows are what the gateway writes: the vault opens them with the client's stored key."""
    vault = runtime.vault
    with runtime.session() as session:
        for entry in session.scalars(select(Entry).where(Entry.client_id.in_(clients))):
            payload = json.loads(vault.decrypt(entry.client_id, entry.key_version, _entry_aad(entry), entry.ciphertext))
            if not payload["content"]["text"]:
                raise RuntimeError("a generated entry decrypted to an empty note")
        for link in session.scalars(select(CareLink).where(CareLink.client_id.in_(clients))):
            if vault.decrypt(link.client_id, link.key_version, _link_aad(link.client_id, link.id, "reason"),
                             link.reason) != LINK_REASON.encode():
                raise RuntimeError("a generated care-link reason did not decrypt")
    vault.forget_cached()  # the purge starts with a cold cache, as the nightly run does


# --- the measured purge -----------------------------------------------------------------------------

@contextlib.contextmanager
def _stopwatch():
    """Time the purge's parts by wrapping the service's module functions for the run."""
    laps: dict[str, list[float]] = {"batch": [], "plan": [], "truncate_wals": []}
    began: list[float] = []
    saved = {name: getattr(retention, name) for name in ("_mark_or_replan", "_finish", "plan", "truncate_wals")}

    def mark(*args, **kwargs):
        began.append(time.perf_counter())
        return saved["_mark_or_replan"](*args, **kwargs)

    def finish(*args, **kwargs):
        result = saved["_finish"](*args, **kwargs)
        if began:
            laps["batch"].append(time.perf_counter() - began.pop())
        return result

    def timed(name):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return saved[name](*args, **kwargs)
            finally:
                laps[name].append(time.perf_counter() - started)
        return run

    retention._mark_or_replan, retention._finish = mark, finish
    retention.plan, retention.truncate_wals = timed("plan"), timed("truncate_wals")
    try:
        yield laps
    finally:
        for name, function in saved.items():
            setattr(retention, name, function)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(runtime: Runtime, generated: Generated, options: Options) -> dict[str, Any]:
    load_before = os.getloadavg()
    with _stopwatch() as laps:
        started = time.perf_counter()
        report = retention.purge(runtime, today=generated.today, batch_size=options.batch_size)
        seconds = time.perf_counter() - started
    batches = laps["batch"]
    return {"seconds": round(seconds, 2), "clients_destroyed": report.clients_destroyed,
            "entries_destroyed": report.entries_destroyed, "batches": report.batches,
            "clients_held": report.clients_held, "resumed": report.resumed,
            "clients_per_s": round(report.clients_destroyed / seconds, 1),
            "entries_per_s": round(report.entries_destroyed / seconds, 1),
            "batch_median_ms": round(statistics.median(batches) * 1e3, 1) if batches else None,
            "batch_p95_ms": round(_percentile(batches, 0.95) * 1e3, 1) if batches else None,
            "batch_max_ms": round(max(batches) * 1e3, 1) if batches else None,
            "plan_s": round(sum(laps["plan"]), 2), "truncate_wals_s": round(sum(laps["truncate_wals"]), 2),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


# --- verification -----------------------------------------------------------------------------------

def _in_chunks(ids: list[uuid.UUID], size: int = 5_000) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def verify(runtime: Runtime, generated: Generated, measured: dict[str, Any]) -> dict[str, Any]:
    problems = []
    kept = set(generated.kept)
    if measured["clients_destroyed"] != len(generated.purged):
        problems.append(f"{measured['clients_destroyed']} clients destroyed, {len(generated.purged)} past term")
    with runtime.engine.connect() as conn:
        clients_left = set(conn.scalars(select(Client.id)))
        entries_left = dict(conn.execute(select(Entry.client_id, func.count()).group_by(Entry.client_id)).all())
        links_left = set(conn.scalars(select(CareLink.client_id)))
        purge_events = conn.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.RETENTION_PURGE.value))
        run_events = conn.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.RETENTION_RUN.value))
        started = time.perf_counter()
        chain = verify_chain(conn)
        verify_s = time.perf_counter() - started
    with runtime.keystore_engine.connect() as conn:
        keys_left = set(conn.scalars(select(ClientKey.client_id)))
    for name, left in (("clients", clients_left), ("entries", set(entries_left)), ("care links", links_left),
                       ("data keys", keys_left)):
        if left - kept:
            problems.append(f"{len(left - kept)} purged clients still have {name}")
        if name != "entries" and kept - left:
            problems.append(f"{len(kept - left)} kept clients lost their {name}")
    expected_entries = len(generated.purged) * generated.per_client
    if measured["entries_destroyed"] != expected_entries:
        problems.append(f"{measured['entries_destroyed']} entries destroyed, {expected_entries} generated for them")
    # The kept clients' entries: all there, each decrypting to what was written.
    vault, intact = runtime.vault, 0
    with runtime.session() as session:
        for entry in session.scalars(select(Entry).where(Entry.id.in_(list(generated.kept_entries)))):
            if vault.decrypt(entry.client_id, entry.key_version, _entry_aad(entry), entry.ciphertext) \
                    == generated.kept_entries[entry.id]:
                intact += 1
    if intact != len(generated.kept_entries):
        problems.append(f"{len(generated.kept_entries) - intact} kept entries missing or changed")
    if purge_events != len(generated.purged):
        problems.append(f"{purge_events} retention.purge events for {len(generated.purged)} purged clients")
    if run_events != 1:
        problems.append(f"{run_events} retention.run events")
    if not chain.ok:
        problems.append("the audit trail does not verify")
    result = {"ok": not problems, "problems": problems, "clients_left": len(clients_left), "kept_clients": len(kept),
              "kept_entries_intact": intact, "retention_purge_events": purge_events,
              "trail_events_verified": chain.events, "trail_intact": chain.ok, "verify_chain_s": round(verify_s, 2)}
    url = runtime.settings.data_url
    if url.startswith("sqlite"):
        files = [Path(url.removeprefix("sqlite:///")), Path(runtime.settings.key_store_url.removeprefix("sqlite:///"))]
        result["wal_bytes_after"] = {path.name: _size(Path(f"{path}-wal")) for path in files}
        result["file_bytes_after"] = {path.name: _size(path) for path in files}
        # The key store's WAL is empty; the data WAL holds only the run's closing ``retention.run`` event,
        # committed after the truncation (a few audit_event pages: nothing purged).
        if result["wal_bytes_after"][files[1].name]:
            problems.append("the key store's WAL is not empty after the purge")
        if result["wal_bytes_after"][files[0].name] > WAL_AFTER_MAX:
            problems.append("the data WAL was not emptied by the purge")
        result["ok"] = not problems
    return result


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


# --- the run ----------------------------------------------------------------------------------------

def run_engine(engine_name: str, options: Options, log=print) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-purge-"))
    try:
        with databases(engine_name, home) as dbs:
            runtime = Runtime.build(settings_for(dbs))
            try:
                today = dt.datetime.now(runtime.settings.zone).date()
                log(f"  generating {options.clients:,} clients x {options.entries} entries ...")
                generated = generate(runtime, options, today, log)
                log(f"  generated in {generated.timings['total_s']:.0f} s "
                    f"({len(generated.purged):,} past term, {len(generated.kept)} kept, {generated.entries:,} entries)")
                sizes = {}
                if engine_name == "sqlite":
                    sizes = {"data_bytes": _size(home / "gateway.db"), "data_wal_bytes": _size(home / "gateway.db-wal"),
                             "keystore_bytes": _size(home / "keys" / "keystore.db") + _size(home / "keys" / "keystore.db-wal")}
                log(f"  purging as of {today} (batch size {options.batch_size}); {load_note()}")
                measured = measure(runtime, generated, options)
                log(f"  purged {measured['clients_destroyed']:,} clients, {measured['entries_destroyed']:,} entries "
                    f"in {measured['seconds']:.1f} s = {measured['clients_per_s']:,.0f} clients/s, "
                    f"{measured['entries_per_s']:,.0f} entries/s; {measured['batches']} batches, "
                    f"median {measured['batch_median_ms']} ms, p95 {measured['batch_p95_ms']} ms")
                checked = verify(runtime, generated, measured)
                log(f"  verified: {'ok' if checked['ok'] else 'FAILED: ' + '; '.join(checked['problems'])} "
                    f"(trail {checked['trail_events_verified']:,} events, "
                    f"{'intact' if checked['trail_intact'] else 'BROKEN'})")
            finally:
                runtime.close()
    finally:
        if options.keep and engine_name == "sqlite":
            log(f"  kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    if not checked["ok"]:
        raise RuntimeError(f"purge benchmark on {engine_name}: " + "; ".join(checked["problems"]))
    return {"today": today.isoformat(), "generated": {
        "clients": len(generated.purged) + len(generated.kept), "past_term": len(generated.purged),
        "kept": len(generated.kept), "entries": generated.entries, **sizes,
        **{key: round(value, 1) for key, value in generated.timings.items()}},
        "purge": measured, "verify": checked}


def main(options: Options | None = None, log=print) -> dict[str, Any]:
    options = options or Options()
    out: dict[str, Any] = {"options": options.__dict__, "machine": machine()}
    for engine_name in options.engines:
        log(f"Retention purge, {engine_name}:")
        if engine_name == "postgresql":
            problem = postgres_reachable()
            if problem is not None:
                log(f"  PostgreSQL unreachable ({problem}): skipped")
                continue
        out[engine_name] = run_engine(engine_name, options, log)
    rows = [(name, f"{out[name]['purge']['clients_destroyed']:,}", f"{out[name]['purge']['entries_destroyed']:,}",
             out[name]["purge"]["seconds"], out[name]["purge"]["clients_per_s"], out[name]["purge"]["entries_per_s"],
             out[name]["purge"]["batches"], out[name]["purge"]["batch_median_ms"], out[name]["purge"]["batch_p95_ms"],
             out[name]["generated"]["total_s"])
            for name in options.engines if name in out]
    log("")
    log(table(("engine", "clients", "entries", "purge s", "clients/s", "entries/s", "batches", "batch p50 ms",
               "batch p95 ms", "generate s"), rows))
    write_json("purge.json", out)
    return out
