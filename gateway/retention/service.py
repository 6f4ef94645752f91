"""The retention purge (covenant art. 9.3): everything on a client is destroyed once the covenant's term
(``[retention] after_last_contact``, five years in the model) has run from the client's last contact.

**Which clients.** A client's term runs from the day of its last contact (``client.last_contact_at``,
moved forward only by contact events), or from the day it was registered when no contact was ever
reported, in the covenant's time zone. The term ends at the end of the day ``term.after(that day)``
(:meth:`covenant.model.Duration.after`: last contact on 23 November 2021, term ends with 23 November
2026); a purge as of ``today`` destroys the clients whose term ended *before* ``today``. A client whose
term ends today is one day short and untouched; the nightly run the day after destroys it. Skipped and
counted as held: a client with a legal hold in force (:mod:`gateway.retention.holds`) or with a rights
request still open (received, in review, decided: art. 11-14 must be answered from the file, and an
objection about the data keeps it, as issue 6 says).

**Order, so that a kill at any moment leaves no client half-destroyed and still readable.** Per batch:

1. *Mark*: one data transaction sets the batch's clients to status ``purging``, after checking again,
   inside it, that each is still past term, not held and without an open request (a contact event or a
   hold that came in between wins: the batch is planned again). The :data:`BEFORE_DESTROY` hooks run
   here, in this transaction, while the file can still be read: whatever they write (the statistics
   extract, art. 9.4-9.5) commits with the mark or not at all, and runs once per client.
2. *Shred*: one key-store transaction deletes every version of the batch's data keys (and this
   process's cache of them). From here on what is left of them is ciphertext nobody can open.
3. *Delete*: one data transaction deletes the rows (notices, deadline notices, notifications, rights
   requests, entries, emergency windows, care links, legal holds, the client) of the marked clients
   and records one ``retention.purge`` event per client, with its pseudonym only.

A run first finishes the clients an earlier run marked (whatever their dates or holds now: a marked
client may already have lost its key), then plans new batches. A kill between 1 and 2 leaves marked
clients with their keys (readable, not yet destroyed: nothing lost), between 2 and 3 marked clients
without keys (unreadable); the next run completes both, writing their ``retention.purge`` events then,
so each destroyed client has exactly one. Other clients are never touched: every statement names the
batch's ids and, in steps 1 and 3, the status.

**No tombstone.** The client row goes as well: what would remain (the blind index of the BSN, the
dates) is data about a person whose term has run. The trail keeps the pseudonym (``retention.purge``),
which means nothing once the row is gone.

Idempotency records are not per client: they hold a sealed answer for 24 hours and the hourly
``idempotency.purge`` job deletes them, long before a client's term can end.

**After the run.** SQLite: the data database and the key store fold and empty their WALs
(``wal_checkpoint(TRUNCATE)``, retried while SQLite answers busy, the run failing if it never stops:
:func:`gateway.db.empty_wal`); with ``secure_delete`` on, the deleted rows and keys are then in
neither file. PostgreSQL keeps dead tuples until ``VACUUM``; crypto-shredding makes them unreadable in
the meantime (see the README, Backups and crypto-shredding).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import structlog
from sqlalchemy import and_, delete, func, or_, select, update

from audit import AuditAction, Outcome
from covenant import Action, Resource
from covenant.model import Duration
from gateway.care.models import CareLink
from gateway.clients.models import Client, ClientStatus
from gateway.consents.models import Consent
from gateway.db import truncate_data_wal, truncate_wal
from gateway.disclosures.models import CriminalDisclosure
from gateway.informing.models import ClientTask
from gateway.emergency.models import EmergencyAccess
from gateway.records.models import Entry
from gateway.retention.models import LegalHold
from gateway.rights.models import DeadlineNotice, Notice, Notification, RightsRequest, Status
from gateway.statistics.service import forget_decisions, take_extracts
from gateway.transaction import Actor, Transaction
from gateway.vault import ClientKey

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = structlog.get_logger(__name__)

ADMINISTRATION = "covenant_administration"
PURGING = ClientStatus.PURGING  # while a purge has begun to destroy the client and not yet finished
OPEN_REQUESTS = (Status.RECEIVED.value, Status.IN_REVIEW.value, Status.DECIDED.value)
# Test mode only (demo mode, never production): SIGKILL this process after that many purge steps, so a
# test can prove a killed run is finished by the next one. Documented in the README.
KILL_AFTER = "GATEWAY_TEST_PURGE_KILL_AFTER"
ORPHAN_AGE = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ClientRow:
    """A client the purge is about to destroy, as the :data:`BEFORE_DESTROY` hooks see it."""

    id: uuid.UUID
    pseudonym: str
    last_contact_at: dt.datetime | None
    created_at: dt.datetime


def _keep_statistics(tx: Transaction, batch: Sequence[ClientRow]) -> None:
    """Art. 9.4-9.5: where the controller decided to keep statistics, take the de-identified extract."""
    take_extracts(tx, [client.id for client in batch])


# Hooks run inside the transaction that marks a batch for destruction, once per batch (each client of it
# once), before the batch's data keys are destroyed (the files can still be read with ``tx``). What they queue with ``tx.write`` and
# ``tx.record`` commits with the mark, or not at all: when a client of the batch turned out no longer due
# inside that transaction, it is rolled back and the hooks run again for the clients still due. A hook
# that raises stops the run (nothing of that batch is destroyed). The statistics extract (art. 9.4-9.5)
# is taken here.
BEFORE_DESTROY: list[Callable[[Transaction, Sequence[ClientRow]], None]] = [_keep_statistics]


@dataclass
class PurgeReport:
    """What a purge did (or, ``dry_run``, would do) as of ``today``.

    ``pseudonyms``: the clients destroyed (or that would be); ``resumed``: of those, the ones an earlier,
    interrupted run had begun."""

    today: dt.date
    dry_run: bool
    clients_destroyed: int = 0
    entries_destroyed: int = 0
    clients_held: int = 0
    batches: int = 0
    resumed: int = 0
    orphan_keys_destroyed: int = 0
    pseudonyms: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        key = "clients_due" if self.dry_run else "clients_destroyed"
        return {key: self.clients_destroyed, "entries_destroyed": self.entries_destroyed,
                "clients_held": self.clients_held, "batches": self.batches, "resumed": self.resumed,
                "orphan_keys_destroyed": self.orphan_keys_destroyed}


# --- which clients ----------------------------------------------------------------------------------

def last_day_past_term(term: Duration, today: dt.date) -> dt.date:
    """The latest day of last contact whose term ended before ``today`` (``term.after(day) < today``).

    ``Duration.after`` never decreases as its start moves later, so every earlier day is past term too."""
    day = today - dt.timedelta(days=366 * term.years + 31 * term.months + term.days + 2)
    while term.after(day + dt.timedelta(days=1)) < today:
        day += dt.timedelta(days=1)
    while term.after(day) >= today:
        day -= dt.timedelta(days=1)
    return day


def _start(runtime: "Runtime", day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), runtime.settings.zone).astimezone(dt.UTC)


def _past_term(runtime: "Runtime", today: dt.date):
    """A condition on ``client``: its term ended before ``today``."""
    limit = _start(runtime, last_day_past_term(runtime.covenant.retention.after_last_contact, today)
                   + dt.timedelta(days=1))
    return func.coalesce(Client.last_contact_at, Client.created_at) < limit


def _held_clients(runtime: "Runtime", today: dt.date):
    """The ids of the clients kept out of the purge as of ``today``: a legal hold in force, or a rights
    request still open."""
    day_after = _start(runtime, today + dt.timedelta(days=1))
    holds = select(LegalHold.client_id).where(LegalHold.released_at.is_(None), LegalHold.since < day_after,
                                              or_(LegalHold.until_on.is_(None), LegalHold.until_on >= today))
    requests = select(RightsRequest.client_id).where(RightsRequest.status.in_(OPEN_REQUESTS))
    return holds.union(requests)


def _due(runtime: "Runtime", today: dt.date):
    """Clients past term, not held, not yet being destroyed."""
    return and_(_past_term(runtime, today), Client.status != PURGING, Client.id.not_in(_held_clients(runtime, today)))


def _row(row) -> ClientRow:
    return ClientRow(id=row.id, pseudonym=row.pseudonym, last_contact_at=row.last_contact_at,
                     created_at=row.created_at)


_COLUMNS = (Client.id, Client.pseudonym, Client.last_contact_at, Client.created_at)


def plan(runtime: "Runtime", today: dt.date) -> tuple[list[ClientRow], list[ClientRow], int]:
    """(clients to finish, clients due now, clients past term but held), by id.

    To finish: those an interrupted run marked, and those without any data key (a data database
    restored from a backup taken before they were destroyed: unreadable, and to be destroyed again).
    The clients are read before the keys: registration makes the key before the row, so a client read
    here has its key in the later read unless it was destroyed."""
    with runtime.engine.connect() as conn:
        clients = conn.execute(select(*_COLUMNS, Client.status).where(Client.status != PURGING)).all()
        marked = [_row(row) for row in conn.execute(select(*_COLUMNS).where(Client.status == PURGING))]
        due = [_row(row) for row in conn.execute(select(*_COLUMNS).where(_due(runtime, today)))]
        held = conn.scalar(select(func.count()).select_from(Client).where(
            _past_term(runtime, today), Client.status != PURGING, Client.id.in_(_held_clients(runtime, today))))
    keyed = keyed_clients(runtime)
    keyless = [_row(row) for row in clients if row.id not in keyed]
    gone = {client.id for client in keyless}
    finish = sorted(marked + keyless, key=lambda client: client.id)
    return finish, sorted((client for client in due if client.id not in gone), key=lambda client: client.id), held


def keyed_clients(runtime: "Runtime") -> set[uuid.UUID]:
    with runtime.keystore_engine.connect() as conn:
        return set(conn.scalars(select(ClientKey.client_id).distinct()))


def destroy_orphan_keys(runtime: "Runtime", now: dt.datetime) -> int:
    """Destroy the data keys of clients the data database no longer has (a key-store backup restored
    after they were destroyed), made more than a day ago: a younger key may be a registration whose
    client row is still on its way (the key is made first)."""
    with runtime.keystore_engine.connect() as conn:
        old = set(conn.scalars(select(ClientKey.client_id).where(ClientKey.created_at < now - ORPHAN_AGE)))
    if not old:
        return 0
    with runtime.engine.connect() as conn:
        present = set()
        listed = sorted(old)
        for start in range(0, len(listed), 500):
            present |= set(conn.scalars(select(Client.id).where(Client.id.in_(listed[start:start + 500]))))
    orphans = sorted(old - present)
    for start in range(0, len(orphans), 500):
        runtime.vault.destroy_client_keys(orphans[start:start + 500])
    if orphans:
        log.warning("purge_orphan_keys_destroyed", keys=len(orphans))
    return len(orphans)


# --- the steps --------------------------------------------------------------------------------------

class _Changed(Exception):
    """A client of the batch is no longer due (a contact, a hold or a request came in meanwhile)."""


class _Steps:
    """Counts the purge's durable steps; in test mode, kills the process after the configured one."""

    def __init__(self, runtime: "Runtime") -> None:
        raw = os.environ.get(KILL_AFTER) if runtime.settings.demo else None
        self.kill_after = int(raw) if raw else None
        self.done = 0

    def step(self) -> None:
        self.done += 1
        if self.kill_after is not None and self.done >= self.kill_after:
            log.warning("purge_killed_for_test", step=self.done)
            os.kill(os.getpid(), signal.SIGKILL)


def _mark(tx: Transaction, batch: list[ClientRow], today: dt.date) -> None:
    """Step 1: run the hooks and mark the batch, if every client in it is still due."""
    runtime, ids = tx.runtime, [client.id for client in batch]
    for hook in BEFORE_DESTROY:
        hook(tx, batch)

    def mark(conn) -> None:
        still = set(conn.scalars(select(Client.id).where(Client.id.in_(ids), _due(runtime, today))))
        if still != set(ids):
            raise _Changed()
        conn.execute(update(Client).where(Client.id.in_(ids)).values(status=PURGING))

    tx.guard(mark)  # runs before anything a hook queued, in the same transaction; its failure undoes them
    tx.commit()


def _delete_rows(tx: Transaction, batch: list[ClientRow], run_id: str) -> int:
    """Step 3: delete everything on the marked clients of the batch, one event each; returns the
    number of entries deleted."""
    ids = [client.id for client in batch]

    def destroy(conn) -> int:
        marked = Client.id.in_(ids) & (Client.status == PURGING)
        targets = list(conn.scalars(select(Client.id).where(marked)))
        if not targets:
            return 0
        notices = select(DeadlineNotice.id).where(DeadlineNotice.client_id.in_(targets))
        conn.execute(delete(Notice).where(Notice.deadline_notice_id.in_(notices)))
        for table in (DeadlineNotice, Notification):
            conn.execute(delete(table).where(table.client_id.in_(targets)))
        conn.execute(delete(RightsRequest).where(RightsRequest.client_id.in_(targets)))
        for table in (CriminalDisclosure, ClientTask, Consent):
            conn.execute(delete(table).where(table.client_id.in_(targets)))
        entries = conn.execute(delete(Entry).where(Entry.client_id.in_(targets))).rowcount
        for table in (EmergencyAccess, CareLink, LegalHold):
            conn.execute(delete(table).where(table.client_id.in_(targets)))
        forget_decisions(conn, targets)
        conn.execute(delete(Client).where(Client.id.in_(targets), Client.status == PURGING))
        return entries

    for client in batch:
        tx.record(AuditAction.RETENTION_PURGE, outcome=Outcome.PERMIT, reason="term_ended", purpose=ADMINISTRATION,
                  authority="role:administrator", client_pseudonym=client.pseudonym, object_type="client",
                  detail={"run": run_id})
    tx.write(destroy)
    return tx.commit()[0]


def _batches(rows: list[ClientRow], size: int) -> Iterable[list[ClientRow]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def truncate_wals(runtime: "Runtime") -> None:
    """SQLite: fold both databases' WALs into their files and empty them (deleted pages were overwritten:
    ``secure_delete``). A no-op on PostgreSQL (see the module's docstring on VACUUM)."""
    truncate_wal(runtime.keystore_writer)
    truncate_data_wal(runtime.settings.data_url)


# --- the run ----------------------------------------------------------------------------------------

def run_purge(runtime: "Runtime", tx: Transaction, *, today: dt.date | None = None, dry_run: bool = False,
              batch_size: int = 500) -> PurgeReport:
    """One purge as of ``today`` (the covenant's date now unless given) with the unit ``tx`` of its
    caller (the job runner, or :func:`purge`), decided for the local administrator and summed up in
    one ``retention.run`` event. Commits as it goes (see the module's docstring)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    day = today or tx.today
    report = PurgeReport(today=day, dry_run=dry_run)
    decision = tx.decide(Action.JOB_RUN, Resource(), purpose=ADMINISTRATION)
    if not decision.allowed:
        tx.record_decision(AuditAction.RETENTION_RUN, decision, purpose=ADMINISTRATION, object_type="retention",
                           detail={"today": day.isoformat(), "dry_run": dry_run})
        tx.commit()
        raise tx.refuse(decision)
    run_id = str(uuid.uuid4())
    marked, due, report.clients_held = plan(runtime, day)
    if dry_run:
        report.pseudonyms = [client.pseudonym for client in marked + due]
        report.clients_destroyed, report.resumed = len(report.pseudonyms), len(marked)
        with runtime.engine.connect() as conn:
            for batch in _batches(marked + due, batch_size):
                report.entries_destroyed += conn.scalar(select(func.count()).select_from(Entry).where(
                    Entry.client_id.in_([client.id for client in batch])))
    else:
        truncate_wals(runtime)  # what an interrupted run left in the WALs goes first
        steps = _Steps(runtime)
        for batch in _batches(marked, batch_size):
            _finish(runtime, tx, batch, run_id, report, steps, resuming=True)
            report.resumed += len(batch)
        for batch in _batches(due, batch_size):
            batch = _mark_or_replan(tx, batch, day)
            if not batch:
                continue
            steps.step()
            _finish(runtime, tx, batch, run_id, report, steps)
        report.orphan_keys_destroyed = destroy_orphan_keys(runtime, tx.now)
        truncate_wals(runtime)
    tx.record(AuditAction.RETENTION_RUN, outcome=Outcome.PERMIT, reason=decision.reason.value, purpose=ADMINISTRATION,
              authority=decision.authority, object_type="retention", object_id=run_id,
              detail={"today": day.isoformat(), "dry_run": dry_run, "batch_size": batch_size, **report.counts()})
    tx.commit()
    log.info("purge_finished", dry_run=dry_run, **report.counts())
    return report


def _mark_or_replan(tx: Transaction, batch: list[ClientRow], today: dt.date) -> list[ClientRow]:
    """Mark the batch; when a client in it is no longer due, mark those still due (checked again)."""
    for _attempt in range(3):
        try:
            _mark(tx, batch, today)
            return batch
        except _Changed:
            with tx.runtime.engine.connect() as conn:
                still = set(conn.scalars(select(Client.id).where(Client.id.in_([c.id for c in batch]),
                                                                 _due(tx.runtime, today))))
            batch = [client for client in batch if client.id in still]
            if not batch:
                return []
    log.warning("purge_batch_skipped", clients=len(batch))
    return []


def _finish(runtime: "Runtime", tx: Transaction, batch: list[ClientRow], run_id: str, report: PurgeReport,
            steps: _Steps, *, resuming: bool = False) -> None:
    """Steps 2 and 3 for a marked batch; ``resuming``: a batch to finish, whose clients without keys
    are marked first."""
    if resuming:
        ids = [client.id for client in batch]
        tx.write(lambda conn: conn.execute(update(Client).where(Client.id.in_(ids), Client.status != PURGING)
                                           .values(status=PURGING)))
        tx.commit()
    runtime.vault.destroy_client_keys([client.id for client in batch])
    steps.step()
    report.entries_destroyed += _delete_rows(tx, batch, run_id)
    steps.step()
    report.clients_destroyed += len(batch)
    report.batches += 1
    report.pseudonyms.extend(client.pseudonym for client in batch)


def purge(runtime: "Runtime", *, today: dt.date, dry_run: bool = False, batch_size: int = 500) -> PurgeReport:
    """Purge as of ``today`` as the local administrator, outside the job's lease (the nightly job and
    ``gateway purge`` take the lease; see :mod:`gateway.retention.jobs`)."""
    tx = Transaction(runtime, access_point="retention:purge", actor=Actor.administrator("gateway-cli"))
    try:
        return run_purge(runtime, tx, today=today, dry_run=dry_run, batch_size=batch_size)
    finally:
        tx.close()
