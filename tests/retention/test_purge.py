"""The retention purge (art. 9.3) on both engines, with the controlled clock: who goes, who stays, and
that what goes is gone, from the tables, the key store and (SQLite) the database files."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from audit import AuditAction, verify_chain
from covenant.model import Duration
from gateway.care import service as care_service
from gateway.clients.models import Client
from gateway.records import service as records_service
from gateway.records.models import Entry
from gateway.retention import holds as holds_service
from gateway.retention import service as retention
from gateway.retention.service import last_day_past_term, purge
from gateway.rights import service as rights_service
from gateway.vault import ClientKey
from tests.gateway.helpers import act, auth, events, register_client, token

# Clients registered at START (23 November 2026, the covenant's date too) reach the end of their
# five-year term with 23 November 2031; the purge as of the 24th destroys them, as of the 23rd not.
TERM_END = dt.date(2031, 11, 23)
DAY_AFTER = TERM_END + dt.timedelta(days=1)


def trail_verifies(runtime) -> None:
    with runtime.engine.connect() as conn:
        report = verify_chain(conn)
    assert report.ok, report.describe()


def new_client(runtime, demo, marker: str | None = None) -> uuid.UUID:
    manager = demo.staff["client_manager"]
    client_id = register_client(runtime, manager)
    act(runtime, manager, lambda tx: records_service.write_entry(
        tx, client_id, purpose="housing", kind="note", category="ordinary",
        content={"text": marker or f"note {secrets.token_hex(4)}"}))
    return client_id


def rows_about(runtime, client_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each data table name the client (by ``client_id``, or ``id`` in ``client``)."""
    counts = {}
    with runtime.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            columns = {column["name"] for column in inspect(conn).get_columns(table)}
            column = "id" if table == "client" else "client_id" if "client_id" in columns else None
            if column is None or table in ("partner_system", "oauth_used_assertion", "oauth_revoked_token",
                                           "idempotency_record"):
                continue  # client_id there is an OAuth client's id
            counts[table] = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {column} = :id"),
                                         {"id": client_id if conn.dialect.name == "postgresql" else client_id.hex}
                                         ).scalar()
    return {table: count for table, count in counts.items() if count}


def has_key(runtime, client_id: uuid.UUID) -> bool:
    with runtime.keystore_engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(ClientKey).where(ClientKey.client_id == client_id)) > 0


def test_the_term_ends_with_its_last_day():
    five = Duration(years=5)
    assert last_day_past_term(five, dt.date(2031, 11, 24)) == dt.date(2026, 11, 23)
    assert last_day_past_term(five, dt.date(2031, 11, 23)) == dt.date(2026, 11, 22)
    # 29 February + P5Y is 28 February: a contact on 28 or 29 February 2024 ends with 28 February 2029.
    assert last_day_past_term(five, dt.date(2029, 3, 1)) == dt.date(2024, 2, 29)
    assert last_day_past_term(five, dt.date(2029, 2, 28)) == dt.date(2024, 2, 27)
    assert last_day_past_term(Duration(months=1), dt.date(2027, 3, 1)) == dt.date(2027, 1, 31)


def test_a_client_past_term_is_destroyed_and_one_a_day_short_is_untouched(runtime, demo, clock):
    doomed = new_client(runtime, demo)
    act(runtime, demo.staff["client_manager"], lambda tx: care_service.grant_link(
        tx, client_id=doomed, staff_id=uuid.UUID(demo.staff["ggz_worker"]), purpose="case_management",
        reason="assessment for the care plan"))
    clock.advance(dt.timedelta(days=1))
    short = new_client(runtime, demo)
    before_short = rows_about(runtime, short)
    assert rows_about(runtime, doomed)["entry"] == 1 and rows_about(runtime, doomed)["care_link"] == 2

    report = purge(runtime, today=DAY_AFTER)

    assert report.clients_destroyed == 2  # ``doomed`` and the demo client, both registered at START
    assert report.entries_destroyed == 1 + 4
    assert (report.clients_held, report.batches) == (0, 1)
    assert rows_about(runtime, doomed) == {}
    assert not has_key(runtime, doomed) and not has_key(runtime, uuid.UUID(demo.clients[0]))
    assert rows_about(runtime, short) == before_short and has_key(runtime, short)
    pseudonyms = {event.client_pseudonym for event in events(runtime, action=AuditAction.RETENTION_PURGE)}
    assert len(pseudonyms) == 2 and len(events(runtime, action=AuditAction.RETENTION_PURGE)) == 2
    summary = events(runtime, action=AuditAction.RETENTION_RUN)[-1]
    assert summary.detail["clients_destroyed"] == 2 and summary.detail["dry_run"] is False
    for event in events(runtime, action=AuditAction.RETENTION_PURGE):
        assert set(event.detail) == {"run"} and event.object_id is None
    trail_verifies(runtime)

    again = purge(runtime, today=DAY_AFTER + dt.timedelta(days=1))
    assert again.clients_destroyed == 1 and rows_about(runtime, short) == {}
    trail_verifies(runtime)


def test_a_destroyed_client_is_404_over_the_api(runtime, demo, http):
    director = token(runtime, demo.staff["field_director"])
    url = f"/v1/clients/{demo.clients[0]}"
    assert http.get(url, headers=auth(director, "case_management")).status_code == 200
    purge(runtime, today=DAY_AFTER)
    assert http.get(url, headers=auth(director, "case_management")).status_code == 404
    manager = token(runtime, demo.staff["client_manager"])
    assert http.get(url + "/entries", headers=auth(manager, "housing")).status_code in (403, 404)


def test_a_late_contact_keeps_the_client(runtime, demo, clock):
    kept = new_client(runtime, demo)
    clock.set(dt.datetime(2029, 5, 1, 9, tzinfo=dt.UTC))
    # A contact entry moves the last contact, as a contact event does (both through the same update).
    act(runtime, demo.staff["client_manager"], lambda tx: records_service.write_entry(
        tx, kept, purpose="wellbeing", kind="contact", category="ordinary",
        content={"contact_on": "2029-05-01", "channel": "in_person"}))
    report = purge(runtime, today=DAY_AFTER)
    assert report.clients_destroyed == 1  # the demo client only
    assert has_key(runtime, kept) and rows_about(runtime, kept)["client"] == 1
    assert purge(runtime, today=dt.date(2034, 5, 1)).clients_destroyed == 0
    assert purge(runtime, today=dt.date(2034, 5, 2)).clients_destroyed == 1


def test_a_held_client_and_one_with_an_open_request_are_kept_and_counted(runtime, demo, clock):
    held, asking = new_client(runtime, demo), new_client(runtime, demo)
    officer = demo.staff["privacy_officer"]
    hold = act(runtime, officer, lambda tx: holds_service.place_hold(
        tx, held, purpose="subject_rights", reason="an objection about this file is before the court"))
    act(runtime, demo.staff["client_manager"], lambda tx: rights_service.record_request(
        tx, asking, purpose="subject_rights", kind="access"))

    report = purge(runtime, today=DAY_AFTER)
    assert (report.clients_destroyed, report.clients_held) == (1, 2)
    assert has_key(runtime, held) and has_key(runtime, asking)
    assert rows_about(runtime, held)["legal_hold"] == 1

    act(runtime, officer, lambda tx: holds_service.release_hold(tx, held, hold.id, purpose="subject_rights"))
    report = purge(runtime, today=DAY_AFTER)
    assert (report.clients_destroyed, report.clients_held) == (1, 1)
    assert rows_about(runtime, held) == {} and not has_key(runtime, held)
    assert has_key(runtime, asking)
    trail_verifies(runtime)


def test_a_hold_with_an_end_keeps_the_client_through_its_last_day(runtime, demo):
    held = new_client(runtime, demo)
    act(runtime, demo.staff["privacy_officer"], lambda tx: holds_service.place_hold(
        tx, held, purpose="subject_rights", reason="kept while the complaint is handled", until_on=DAY_AFTER))
    assert purge(runtime, today=DAY_AFTER).clients_held == 1
    assert purge(runtime, today=DAY_AFTER + dt.timedelta(days=1)).clients_destroyed == 1


def test_a_dry_run_lists_and_counts_and_changes_nothing(runtime, demo):
    client = new_client(runtime, demo)
    before = rows_about(runtime, client)
    report = purge(runtime, today=DAY_AFTER, dry_run=True)
    assert report.dry_run and report.clients_destroyed == 2 and report.entries_destroyed == 5
    assert len(report.pseudonyms) == 2
    assert rows_about(runtime, client) == before and has_key(runtime, client)
    assert events(runtime, action=AuditAction.RETENTION_PURGE) == []
    summary = events(runtime, action=AuditAction.RETENTION_RUN)[-1]
    assert summary.detail["dry_run"] is True and summary.detail["clients_due"] == 2
    assert not any(pseudonym in str(summary.detail) for pseudonym in report.pseudonyms)


def test_small_batches_destroy_the_same(runtime, demo):
    clients = [new_client(runtime, demo) for _ in range(5)]
    report = purge(runtime, today=DAY_AFTER, batch_size=2)
    assert (report.clients_destroyed, report.batches) == (6, 3)
    assert all(rows_about(runtime, client) == {} for client in clients)


def test_the_before_destroy_hooks_read_the_file_inside_the_mark(runtime, demo, monkeypatch):
    seen = []

    def hook(tx, batch):
        for client in batch:
            entry = tx.session.scalars(select(Entry).where(Entry.client_id == client.id)).first()
            seen.append((client.pseudonym, records_service._view(tx, entry).content if entry else None))

    monkeypatch.setattr(retention, "BEFORE_DESTROY", [hook])
    purge(runtime, today=DAY_AFTER)
    assert len(seen) == 1 and seen[0][1] is not None
    purge(runtime, today=DAY_AFTER)
    assert len(seen) == 1  # once per client


def test_a_purge_is_refused_to_a_staff_member(runtime, demo):
    from gateway.transaction import Actor, Transaction

    tx = Transaction(runtime, access_point="test", actor=Actor.staff_member(uuid.UUID(demo.staff["privacy_officer"]),
                                                                              "test"))
    with pytest.raises(Exception):
        retention.run_purge(runtime, tx, today=DAY_AFTER)
    refused = events(runtime, action=AuditAction.RETENTION_RUN)[-1]
    assert refused.outcome == "deny"
    assert rows_about(runtime, uuid.UUID(demo.clients[0]))


def marked_client(runtime, demo) -> tuple[str, bytes, bytes]:
    """A new client past term with one entry holding a random marker: the marker, the entry's ciphertext
    and the client's wrapped data key, to look for in the files after the purge."""
    marker = f"marker-{secrets.token_hex(12)}"
    client = new_client(runtime, demo, marker)
    with runtime.engine.connect() as conn:
        ciphertext = conn.scalar(select(Entry.ciphertext).where(Entry.client_id == client))
    with runtime.keystore_engine.connect() as conn:
        wrapped = conn.scalar(select(ClientKey.wrapped_key).where(ClientKey.client_id == client))
    return marker, ciphertext, wrapped


def test_on_sqlite_the_content_and_its_ciphertext_leave_the_files(runtime, demo, engine_name, tmp_path):
    if engine_name != "sqlite":
        pytest.skip("PostgreSQL keeps dead tuples until VACUUM; the destroyed key makes them unreadable")
    marker, ciphertext, wrapped = marked_client(runtime, demo)
    files = [path for path in tmp_path.rglob("*.db*") if path.is_file()]
    assert any(ciphertext in path.read_bytes() for path in files)

    purge(runtime, today=DAY_AFTER)

    files = [path for path in tmp_path.rglob("*.db*") if path.is_file()]
    assert {path.name for path in files} >= {"gateway.db", "keystore.db"}
    for path in files:
        content = path.read_bytes()
        assert marker.encode() not in content, path
        assert ciphertext not in content and ciphertext[13:45] not in content, path
        assert wrapped not in content and wrapped[12:44] not in content, path


def _postgres_files(conn, schemas: list[str]) -> list[Path]:
    """The files of every table (with its TOAST table) and index in ``schemas``, in the server's data
    directory, when this process can read it (the server runs on this machine; the tests run as a user
    that may read its files), else an empty list."""
    data_directory = Path(conn.exec_driver_sql("SHOW data_directory").scalar())
    relations = conn.exec_driver_sql(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'i') "
        "UNION SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%(schemas)s) AND c.reltoastrelid <> 0",
        {"schemas": schemas}).scalars().all()
    try:
        return [path for relation in relations if relation
                for path in (data_directory / relation).parent.glob(Path(relation).name + "*") if path.is_file()]
    except PermissionError:
        return []


def test_on_postgresql_the_content_never_reaches_the_server_and_its_ciphertext_leaves_the_tables_after_vacuum(
        runtime, demo, engine_name):
    """The server keeps a deleted row's bytes until VACUUM rewrites the table, and its WAL until the segment
    is recycled: the plaintext was never there (only ciphertext reached the server); after the purge, a
    checkpoint and VACUUM FULL, neither the ciphertext nor the wrapped data key is left in any table's files.
    What the WAL still holds is wrapped under a key-encryption key that ``keys.rotate`` destroys within
    ``[retention] backup_grace`` (tests/retention/test_backup_grace.py)."""
    if engine_name != "postgresql":
        pytest.skip("SQLite's files are checked in test_on_sqlite_the_content_and_its_ciphertext_leave_the_files")
    marker, ciphertext, wrapped = marked_client(runtime, demo)
    schemas = {name: engine.url.query["options"].split("=", 1)[1]
               for name, engine in (("data", runtime.engine), ("keystore", runtime.keystore_engine))}
    with runtime.writer_engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
        files = _postgres_files(conn, list(schemas.values()))
    if not files:
        pytest.skip("the PostgreSQL server's files are not readable from this process")
    assert any(ciphertext in path.read_bytes() for path in files)  # the check can see what it looks for

    purge(runtime, today=DAY_AFTER)

    with runtime.writer_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name, schema in schemas.items():
            for table in inspect(conn).get_table_names(schema=schema):
                conn.exec_driver_sql(f'VACUUM FULL "{schema}"."{table}"')
        conn.exec_driver_sql("CHECKPOINT")
        files = _postgres_files(conn, list(schemas.values()))
        wal = sorted((Path(conn.exec_driver_sql("SHOW data_directory").scalar()) / "pg_wal").glob("0*"))
    assert files and wal
    for path in files:
        content = path.read_bytes()
        assert marker.encode() not in content, path
        assert ciphertext[13:45] not in content, path
        assert wrapped[12:44] not in content, path
    for path in wal:  # the plaintext never reached the server at all
        if path.is_file():
            assert marker.encode() not in path.read_bytes(), path


def test_restored_backups_do_not_bring_destroyed_clients_back(runtime, demo, clock):
    """A key-store backup restored after a purge brings keys of destroyed clients back: the next run
    destroys them (a day old at least: a younger one may be a registration under way). A data backup
    restored after a purge brings rows back whose keys are gone: the next run finishes them."""
    doomed = uuid.UUID(demo.clients[0])
    with runtime.keystore_engine.connect() as conn:
        backup = [dict(row._mapping) for row in conn.execute(select(ClientKey.__table__).where(
            ClientKey.client_id == doomed))]
    fresh = new_client(runtime, demo)
    runtime.vault.destroy_client_keys([fresh])  # as if the data database were older than the key store
    purge(runtime, today=DAY_AFTER)
    assert rows_about(runtime, fresh) == {} and not has_key(runtime, doomed)
    with runtime.keystore_writer.begin() as conn:  # the key store's backup is restored
        conn.execute(ClientKey.__table__.insert(), backup)
    assert has_key(runtime, doomed)
    clock.advance(dt.timedelta(days=2))
    report = purge(runtime, today=DAY_AFTER)
    assert report.orphan_keys_destroyed == 1 and not has_key(runtime, doomed)
    assert len(events(runtime, action=AuditAction.RETENTION_PURGE)) == 2


def test_a_client_without_a_key_is_finished_whatever_its_term(runtime, demo):
    client = new_client(runtime, demo)
    runtime.vault.destroy_client_keys([client])
    report = purge(runtime, today=TERM_END - dt.timedelta(days=400))
    assert (report.clients_destroyed, report.resumed) == (1, 1)
    assert rows_about(runtime, client) == {}


def test_a_contact_that_comes_in_before_the_mark_keeps_the_client(runtime, demo, monkeypatch):
    """The mark checks again, inside its transaction, that each client is still due: a contact that
    arrived after the run planned the batch keeps the client, and the rest of the batch goes."""
    late = new_client(runtime, demo)
    calls = []

    def contact_arrives(tx, batch):
        calls.extend(client.id for client in batch)
        if len(calls) == len(batch):  # the first attempt at the batch
            with runtime.writer_engine.begin() as conn:
                conn.execute(Client.__table__.update().where(Client.id == late).values(
                    last_contact_at=dt.datetime(2029, 1, 1, tzinfo=dt.UTC)))

    monkeypatch.setattr(retention, "BEFORE_DESTROY", [contact_arrives])
    report = purge(runtime, today=DAY_AFTER)
    assert report.clients_destroyed == 1 and has_key(runtime, late) and rows_about(runtime, late)["entry"] == 1
    assert calls.count(uuid.UUID(demo.clients[0])) == 2  # the rolled-back attempt, then the one that held


def test_the_controllers_statistics_decision_is_taken_into_the_extract_by_the_purge(runtime, demo):
    """Art. 9.4-9.5: the extract is taken inside the purge, from the file while it can still be read; the
    decision, which names the client, goes with it."""
    from gateway.statistics import service as statistics_service
    from gateway.statistics.models import StatisticsDecision, StatisticsExtract, StatisticsHeld

    client_id = uuid.UUID(demo.clients[0])
    act(runtime, demo.staff["field_director"], lambda tx: statistics_service.decide_statistics(
        tx, client_id, purpose="statistics"))
    report = purge(runtime, today=DAY_AFTER)
    assert report.clients_destroyed == 1 and rows_about(runtime, client_id) == {}
    with runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(StatisticsDecision)) == 0
        waiting = session.scalar(select(func.count()).select_from(StatisticsHeld))
        kept = session.scalar(select(func.count()).select_from(StatisticsExtract))
    assert (waiting, kept) == (1, 0)  # one client is a group below k: held, not kept
    [taken] = events(runtime, action=AuditAction.RETENTION_EXTRACT)
    assert taken.client_pseudonym == events(runtime, action=AuditAction.RETENTION_PURGE)[0].client_pseudonym
    trail_verifies(runtime)


def test_a_client_the_purge_has_begun_on_is_gone_to_every_decision(runtime, demo, http):
    """A purge killed between marking a batch and destroying it leaves clients whose key may already be
    gone: nobody reads or writes them meanwhile, and the next run finishes them."""
    from sqlalchemy import update

    from audit import UnitOfWork
    from gateway.clients.models import ClientStatus

    client_id = uuid.UUID(demo.clients[0])
    director, manager = token(runtime, demo.staff["field_director"]), token(runtime, demo.staff["client_manager"])
    assert http.get(f"/v1/clients/{client_id}", headers=auth(director, "case_management")).status_code == 200
    runtime.committer.commit(UnitOfWork(events=[], apply=lambda conn: conn.execute(
        update(Client).where(Client.id == client_id).values(status=ClientStatus.PURGING))))
    assert http.get(f"/v1/clients/{client_id}", headers=auth(director, "case_management")).status_code == 404
    listed = http.get(f"/v1/clients/{client_id}/entries", headers=auth(manager, "housing"))
    written = http.post(f"/v1/clients/{client_id}/entries", headers=auth(manager, "housing"),
                        json={"kind": "note", "category": "ordinary", "content": {"text": "late note"}})
    assert (listed.status_code, written.status_code) == (403, 403)  # as for any client not there to them
    assert events(runtime, action=AuditAction.RECORD_WRITE)[-1].reason == "client_unknown"
    assert purge(runtime, today=DAY_AFTER - dt.timedelta(days=30)).clients_destroyed == 1  # finished, not due
    assert rows_about(runtime, client_id) == {} and not has_key(runtime, client_id)
