"""Envelope encryption: ciphertexts bound to where they belong, keys rotated without re-encryption."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from audit import AuditAction, Outcome
from gateway.config import Settings
from gateway.operations import rotate_keys
from gateway.records.models import Entry
from gateway.runtime import Runtime
from gateway.vault import ClientKey, VaultError
from tests.gateway.helpers import auth, last_event, register_client, token


def _entries(runtime) -> list[Entry]:
    with runtime.session() as session:
        return list(session.scalars(select(Entry).order_by(Entry.created_at, Entry.id)))


def _set(runtime, entry_id, **values) -> None:
    with runtime.writer_engine.begin() as conn:
        conn.execute(update(Entry).where(Entry.id == entry_id).values(**values))


def test_a_ciphertext_copied_to_another_row_fails_to_decrypt(runtime, demo, http):
    first, second = _entries(runtime)[:2]
    _set(runtime, second.id, ciphertext=first.ciphertext)
    bearer = token(runtime, demo.staff["client_manager"])
    response = http.get(f"/v1/clients/{demo.clients[0]}/entries/{second.id}", headers=auth(bearer))
    assert response.status_code == 500
    assert response.json()["type"].endswith("/record-integrity")
    assert "content" not in response.json()
    event = last_event(runtime, action=AuditAction.RECORD_READ)
    assert (event.outcome, event.reason) == (Outcome.ERROR, "record-integrity")
    untouched = http.get(f"/v1/clients/{demo.clients[0]}/entries/{first.id}", headers=auth(bearer))
    assert untouched.status_code == 200


def test_an_entry_relabelled_to_another_category_fails_to_decrypt(runtime, demo, http):
    # Someone with database access relabels a special (health) entry as ordinary so that more parties
    # would see it: the associated data no longer matches and nothing is shown.
    special = next(entry for entry in _entries(runtime) if entry.category == "special")
    _set(runtime, special.id, category="ordinary")
    response = http.get(f"/v1/clients/{demo.clients[0]}/entries/{special.id}",
                        headers=auth(token(runtime, demo.staff["client_manager"])))
    assert response.status_code == 500


def test_an_entry_moved_to_another_client_fails_to_decrypt(runtime, demo, http):
    other = register_client(runtime, demo.staff["client_manager"])
    entry = _entries(runtime)[0]
    _set(runtime, entry.id, client_id=other)
    response = http.get(f"/v1/clients/{other}/entries/{entry.id}",
                        headers=auth(token(runtime, demo.staff["client_manager"])))
    assert response.status_code == 500


def test_a_wrapped_key_swapped_between_clients_is_refused(runtime, demo):
    other = register_client(runtime, demo.staff["client_manager"])
    demo_client = uuid.UUID(demo.clients[0])
    with runtime.keystore_writer.begin() as conn:
        wrapped = conn.scalar(select(ClientKey.wrapped_key).where(ClientKey.client_id == other))
        conn.execute(update(ClientKey).where(ClientKey.client_id == demo_client).values(wrapped_key=wrapped))
    runtime.vault.forget_cached()
    entry = next(entry for entry in _entries(runtime) if entry.client_id == demo_client)
    with pytest.raises(VaultError, match="wrapped data key does not belong to its client"):
        runtime.vault.decrypt(demo_client, 1, b"x", entry.ciphertext)


def test_key_rotation_keeps_every_entry_readable_and_destroys_the_old_key(runtime, settings, demo, http):
    ring_folder = Path(settings.key_folder) / "kek"
    old_keks = sorted(path.name for path in ring_folder.glob("kek-*.key"))
    with runtime.keystore_engine.connect() as conn:
        before = {row.client_id: row.wrapped_key for row in conn.execute(select(ClientKey))}
    ciphertexts = {entry.id: entry.ciphertext for entry in _entries(runtime)}

    report = rotate_keys(runtime)

    assert report.rewrapped == len(before) >= 1
    assert sorted(path.name for path in ring_folder.glob("kek-*.key")) == [f"{report.new_kek}.key"]
    assert [f"{kek}.key" for kek in report.destroyed] == old_keks
    with runtime.keystore_engine.connect() as conn:
        after = {row.client_id: (row.wrapped_key, row.kek_id) for row in conn.execute(select(ClientKey))}
    assert all(after[client][0] != before[client] and after[client][1] == report.new_kek for client in before)
    assert {entry.id: entry.ciphertext for entry in _entries(runtime)} == ciphertexts  # entries untouched

    runtime.vault.forget_cached()
    bearer = token(runtime, demo.staff["client_manager"])
    for entry_id in ciphertexts:
        response = http.get(f"/v1/clients/{demo.clients[0]}/entries/{entry_id}", headers=auth(bearer))
        assert response.status_code == 200
    completed = last_event(runtime, action=AuditAction.KEYS_ROTATE, reason="completed")
    assert completed.detail == {"rewrapped": report.rewrapped, "destroyed": report.destroyed}
    assert (completed.object_id, completed.outcome) == (report.new_kek, Outcome.PERMIT)


def test_a_running_gateway_keeps_reading_across_a_rotation_by_another_process(runtime, settings, demo, http, clock):
    bearer = token(runtime, demo.staff["client_manager"])
    url = f"/v1/clients/{demo.clients[0]}/entries"
    assert http.get(url, headers=auth(bearer)).status_code == 200
    other = Runtime.build(settings, clock=clock)  # stands for `gateway keys rotate` in another process
    rotate_keys(other)
    other.close()
    runtime.vault.forget_cached()
    assert http.get(url, headers=auth(bearer)).status_code == 200


def test_the_gateway_refuses_to_start_without_a_key_the_store_needs(runtime, settings, demo, clock):
    for path in (Path(settings.key_folder) / "kek").glob("kek-*.key"):
        path.unlink()
    (Path(settings.key_folder) / "kek" / "active").unlink()
    with pytest.raises(VaultError, match="lacks key-encryption keys"):
        Runtime.build(Settings(**settings.model_dump()), clock=clock)


def test_keys_created_during_a_rotation_are_never_left_under_a_destroyed_key(runtime, settings, demo, clock):
    # Another process registers clients while this one rotates: every data key must end up under a
    # key-encryption key that still exists.
    other = Runtime.build(settings, clock=clock)
    created, stop = [], threading.Event()

    def register() -> None:
        while not stop.is_set():
            client_id = uuid.uuid4()
            other.vault.create_client_key(client_id, clock())
            created.append(client_id)

    worker = threading.Thread(target=register)
    worker.start()
    try:
        for _ in range(3):
            rotate_keys(runtime)
    finally:
        stop.set()
        worker.join()
        other.close()
    assert created
    runtime.vault.check()
    runtime.vault.forget_cached()
    for client_id in created:
        assert runtime.vault.latest_version(client_id) == 1
        runtime.vault.encrypt(client_id, 1, b"probe", b"x")  # unwraps: the key is usable


@pytest.mark.parametrize("engine_name", ["sqlite"])  # the WAL in question is SQLite's
def test_rotation_leaves_no_old_wrapped_key_in_the_sqlite_wal(runtime, settings, demo, engine_name):
    with runtime.keystore_engine.connect() as conn:
        old = [row.wrapped_key for row in conn.execute(select(ClientKey))]
    rotate_keys(runtime)
    wal = Path(settings.key_folder) / "keystore.db-wal"
    data = wal.read_bytes() if wal.exists() else b""
    store = (Path(settings.key_folder) / "keystore.db").read_bytes()
    for wrapped in old:
        assert wrapped not in data and wrapped not in store


def test_entry_labels_are_bound_to_its_ciphertext(runtime, demo, http):
    # Clearing an art. 12 ground, or claiming another source party, must not pass unnoticed.
    entry = _entries(runtime)[0]
    for change in ({"confidentiality_ground": "protection_of_persons"}, {"purpose": "statistics"},
                   {"source_party_id": demo.parties["police"]}):
        _set(runtime, entry.id, **change)
        response = http.get(f"/v1/clients/{demo.clients[0]}/entries/{entry.id}",
                            headers=auth(token(runtime, demo.staff["client_manager"])))
        assert response.status_code == 500, change
        _set(runtime, entry.id, confidentiality_ground=entry.confidentiality_ground, purpose=entry.purpose,
             source_party_id=entry.source_party_id)
    assert http.get(f"/v1/clients/{demo.clients[0]}/entries/{entry.id}",
                    headers=auth(token(runtime, demo.staff["client_manager"]))).status_code == 200
