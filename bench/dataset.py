"""A realistic data set, made through the gateway's own services.

Clients are registered, care teams granted and entries written by the same service functions the
API calls (``gateway.clients.service``, ``gateway.care.service``, ``gateway.records.service``), so
every entry is really encrypted with its client's data key, every link is a real ``care_link`` row,
and the trail holds the events of all of it. Several service calls share one :class:`Transaction`
(one group commit) to keep seeding fast; the services need what an earlier phase committed (a
client before its links, a link before the entries written under it), hence the phases.

The same entries are also stored in plaintext in ``bench_plain_entry`` for the unprotected baseline.

Each party of the data set also gets a partner system, registered as an administrator registers one
(``gateway.operations.register_partner``) with the public half of a P-256 key made here: the read-path
benchmark asks the running gateway for its staff's tokens with it (JWT-bearer grant, RFC 7523).
"""

from __future__ import annotations

import json
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import insert, select

from audit import AuditAction
from covenant import Action, Resource, Role
from gateway.care import service as care_service
from gateway.clients import service as clients_service
from gateway.demo import seed_demo
from gateway import operations
from gateway.operations import ADMINISTRATION
from gateway.parties import service as parties_service
from gateway.parties.models import Staff
from gateway.records import service as records_service
from gateway.runtime import Runtime
from gateway.transaction import Actor, Transaction

from bench.plain_app import PlainEntry, create_plain_table

CASE_MANAGEMENT = "case_management"
READ_PURPOSE = "wellbeing"

# party kind of the demo region -> (how many staff, roles)
STAFF_PLAN = (
    ("shelter", 40, (Role.CLIENT_MANAGER,)),
    ("mental_health", 60, (Role.STAFF,)),
    ("police", 40, (Role.STAFF,)),
    ("municipality", 60, (Role.STAFF,)),
)

_WORDS = ("cliënt", "slaapt", "nachtopvang", "afspraak", "huisarts", "woning", "schulden", "budget", "zus",
          "contact", "gesprek", "medicatie", "begeleiding", "dagbesteding", "uitkering", "aanvraag", "week",
          "maandag", "intake", "zorgplan", "doel", "actie", "wijkteam", "verslaving", "herstel", "kamer",
          "inkomen", "gemeente", "politie", "melding", "overlast", "rustig", "afgesproken", "volgende",
          "samen", "met", "de", "het", "een", "en", "op", "naar", "voor", "bij", "is", "heeft", "wil", "gaat")


def note_text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    text = " ".join(words)[:size - 1].rstrip()
    return text[0].upper() + text[1:] + "."


@dataclass
class StaffMember:
    id: uuid.UUID
    party: str
    kind: str
    roles: tuple[Role, ...]


@dataclass
class SeededEntry:
    id: uuid.UUID
    client_id: uuid.UUID
    category: str
    content: dict


ASSERTION_ALG = "ES256"
ASSERTION_LIFETIME = 120  # seconds; the gateway accepts at most five minutes


@dataclass
class PartnerSystemKey:
    """A registered partner system of one party, with its private signing key (kept in memory only)."""

    client_id: str
    party: str
    key: ECKey

    def assertion(self, staff_id: uuid.UUID, *, audience: str, now: int | None = None) -> str:
        """A JWT-bearer grant assertion (RFC 7523 §2.1) naming one of the party's staff members."""
        now = int(time.time()) if now is None else now
        claims = {"iss": self.client_id, "sub": str(staff_id), "aud": audience, "iat": now,
                  "exp": now + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(16)}
        return jwt.encode({"alg": ASSERTION_ALG, "kid": self.key.kid}, claims, self.key, algorithms=[ASSERTION_ALG])


def register_systems(runtime: Runtime, parties: list[str]) -> dict[str, PartnerSystemKey]:
    """One partner system per party, registered with a fresh P-256 key's public half (private_key_jwt)."""
    systems = {}
    for party in parties:
        key = ECKey.generate_key("P-256", private=True, parameters={
            "kid": f"bench-{secrets.token_hex(4)}", "use": "sig", "alg": ASSERTION_ALG})
        registration = operations.register_partner(
            runtime, party=party, name=f"Benchmark system of {party}",
            jwks=json.dumps({"keys": [key.as_dict(private=False)]}))
        systems[party] = PartnerSystemKey(client_id=registration.client_id, party=party, key=key)
    return systems


@dataclass
class Dataset:
    staff: dict[uuid.UUID, StaffMember]
    clients: list[uuid.UUID]
    links: dict[uuid.UUID, list[uuid.UUID]]            # client -> linked staff
    entries: dict[uuid.UUID, list[SeededEntry]]        # client -> entries
    read_rights: dict[str, frozenset[str]]             # party -> categories it may read
    systems: dict[str, PartnerSystemKey]               # party -> its registered partner system
    timings: dict[str, float] = field(default_factory=dict)

    def allowed_reads(self) -> list[tuple[uuid.UUID, SeededEntry]]:
        """Every (staff, entry) pair the covenant lets the staff member read."""
        pairs = []
        for client_id in self.clients:
            for staff_id in self.links[client_id]:
                rights = self.read_rights[self.staff[staff_id].party]
                pairs += [(staff_id, entry) for entry in self.entries[client_id] if entry.category in rights]
        return pairs

    def refused_reads(self) -> list[tuple[uuid.UUID, SeededEntry, str]]:
        """A few pairs the covenant refuses: not linked, and linked but the category is not the party's."""
        refused = []
        for client_id in self.clients[:50]:
            linked = set(self.links[client_id])
            outsider = next(s for s in self.staff if s not in linked)
            refused.append((outsider, self.entries[client_id][0], "not_linked"))
            for staff_id in linked:
                rights = self.read_rights[self.staff[staff_id].party]
                for entry in self.entries[client_id]:
                    if entry.category not in rights:
                        refused.append((staff_id, entry, "category_not_permitted"))
                        break
        return refused


def _in_batches(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _as_each(runtime: Runtime, work: list[tuple[uuid.UUID, object]], batch: int, do) -> None:
    """Run ``do(tx, item)`` for each (actor, item), a unit of work per actor and batch."""
    by_actor: dict[uuid.UUID, list] = {}
    for actor_id, item in work:
        by_actor.setdefault(actor_id, []).append(item)
    for actor_id, items in by_actor.items():
        for chunk in _in_batches(items, batch):
            tx = Transaction(runtime, access_point="bench:seed", actor=Actor.staff_member(actor_id, "bench-seed"))
            for item in chunk:
                do(tx, item)
            tx.commit()


def seed(runtime: Runtime, *, clients: int = 2_000, entries_per_client: int = 4, content_size: int = 1_000,
         batch: int = 100, rng_seed: int = 20261123, progress=print) -> Dataset:
    rng = random.Random(rng_seed)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    demo = seed_demo(runtime)  # records the service start, mirrors the parties, the demo cast
    parties = demo.parties      # kind -> party code
    covenant = runtime.covenant
    read_rights = {code: covenant.party_kinds[party.kind].read for code, party in covenant.parties.items()}

    # Staff, inserted as seed_demo does: the administrator's demo.seed decision, then one insert.
    tx = Transaction(runtime, access_point="bench:seed", actor=Actor.administrator())
    decision = tx.authorize(Action.DEMO_SEED, Resource(), purpose=ADMINISTRATION, audit_action=AuditAction.DEMO_SEED)
    if not decision.allowed:
        tx.abandon("refused")
        raise tx.refuse(decision)
    rows = []
    for kind, count, roles in STAFF_PLAN:
        for n in range(count):
            rows.append(parties_service.staff_row(staff_id=uuid.uuid4(), party=parties[kind],
                                                  handle=f"bench.{kind}.{n}", roles=list(roles), now=tx.now))
    tx.write(lambda conn: conn.execute(insert(Staff), rows))
    tx.commit()
    staff: dict[uuid.UUID, StaffMember] = {}
    kind_of = {code: party.kind for code, party in covenant.parties.items()}
    with runtime.session() as session:
        for row in session.scalars(select(Staff).where(Staff.handle.like("bench.%"))):
            staff[row.id] = StaffMember(id=row.id, party=row.party_id, kind=kind_of[row.party_id],
                                        roles=tuple(Role(r) for r in row.roles))
    managers = [s for s in staff.values() if Role.CLIENT_MANAGER in s.roles]
    partners = [s for s in staff.values() if Role.CLIENT_MANAGER not in s.roles]
    timings["staff_s"] = time.perf_counter() - started

    # A partner system per party that has staff here, registered with its public key.
    phase = time.perf_counter()
    systems = register_systems(runtime, sorted({member.party for member in staff.values()}))
    timings["systems_s"] = time.perf_counter() - phase
    progress(f"    {len(systems)} partner systems registered (private_key_jwt, P-256) in {timings['systems_s']:.1f} s")

    # Clients: registered by a client manager, who joins the care team at once.
    phase = time.perf_counter()
    client_ids = [uuid.uuid4() for _ in range(clients)]
    manager_of = {client_id: managers[i % len(managers)] for i, client_id in enumerate(client_ids)}
    _as_each(runtime, [(manager_of[client_id].id, client_id) for client_id in client_ids], batch,
             lambda tx, client_id: clients_service.register_client(tx, purpose=CASE_MANAGEMENT, informed_at=tx.now,
                                                                   client_id=client_id))
    timings["clients_s"] = time.perf_counter() - phase
    progress(f"    {clients} clients registered in {timings['clients_s']:.1f} s")

    # Care teams: the client manager links one or two partners (2-3 linked staff per client).
    phase = time.perf_counter()
    links = {client_id: [manager_of[client_id].id] for client_id in client_ids}
    grants = []
    for client_id in client_ids:
        for member in rng.sample(partners, rng.choice((1, 2))):
            grants.append((manager_of[client_id].id, (client_id, member.id)))
            links[client_id].append(member.id)
    _as_each(runtime, grants, batch, lambda tx, grant: care_service.grant_link(
        tx, client_id=grant[0], staff_id=grant[1], purpose=CASE_MANAGEMENT,
        reason="asked for information for the care plan"))
    timings["links_s"] = time.perf_counter() - phase
    progress(f"    {sum(map(len, links.values()))} care-team links in {timings['links_s']:.1f} s")

    # Entries of ~1 KB: notes by the client manager (ordinary and special) and by a linked partner
    # (ordinary, which every party may write).
    phase = time.perf_counter()
    entries: dict[uuid.UUID, list[SeededEntry]] = {client_id: [] for client_id in client_ids}
    plain_rows, writes = [], []
    for client_id in client_ids:
        manager = manager_of[client_id]
        partner = staff[links[client_id][1]]
        for n in range(entries_per_client):
            author = partner if n == entries_per_client - 1 else manager
            category = "special" if n == 1 else "ordinary"
            writes.append((author.id, (client_id, author, category, {"text": note_text(rng, content_size)})))

    def write(tx: Transaction, planned) -> None:
        client_id, author, category, content = planned
        entry_id = records_service.write_entry(tx, client_id, purpose=READ_PURPOSE, kind="note", category=category,
                                               content=content)
        entries[client_id].append(SeededEntry(entry_id, client_id, category, content))
        plain_rows.append({"id": entry_id, "client_id": client_id, "kind": "note", "category": category,
                           "source_party": author.party, "source_reference": None, "confidentiality_ground": None,
                           "purpose": READ_PURPOSE, "content": content, "created_at": tx.now,
                           "created_by": author.id})

    _as_each(runtime, writes, batch, write)
    timings["entries_s"] = time.perf_counter() - phase
    progress(f"    {len(plain_rows)} encrypted entries in {timings['entries_s']:.1f} s")

    # The same entries in plaintext, for the unprotected baseline.
    phase = time.perf_counter()
    engine = runtime.writer_engine
    create_plain_table(engine)
    with engine.begin() as conn:
        for rows_chunk in _in_batches(plain_rows, 1_000):
            conn.execute(insert(PlainEntry), rows_chunk)
    timings["plain_s"] = time.perf_counter() - phase
    timings["total_s"] = time.perf_counter() - started
    return Dataset(staff=staff, clients=client_ids, links=links, entries=entries, read_rights=read_rights,
                   systems=systems, timings=timings)

