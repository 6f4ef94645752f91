"""The vault: envelope encryption of each client's file, and the key folder.

* Each client has a data key (AES-256-GCM). It is stored only wrapped, by a key-encryption key (KEK),
  in the key store: a database of its own, separate from the data database, so that a backup of
  the data alone cannot decrypt anything, and destroying a client's data key destroys the file
  (crypto-shredding).
* KEKs live in files in the key folder (mode 0600, folder 0700), never in a database. Each wrapped
  data key records which KEK wrapped it, so rotation can rewrap without touching ciphertext.
* Associated data binds every ciphertext to where it belongs (client, object, labels), and every
  wrapped data key to its client and version: a ciphertext or wrapped key moved elsewhere fails to
  decrypt.
* The blind index turns a BSN or a partner's own reference into a keyed HMAC for look-ups, so the
  database never holds the number itself.

Only standard primitives from ``cryptography`` are used.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, LargeBinary, MetaData, String, Uuid, bindparam, func, insert, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from audit.types import NAMING_CONVENTION, UTCDateTime
from gateway.db import truncate_wal

_FORMAT = b"\x01"
_NONCE = 12
_AAD_PREFIX = b"covenant-gateway/v1"
_SEP = b"\x1f"
_PG_KEYSTORE_LOCK = 0x6B657973  # "keys"


class KeyStoreBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ClientKey(KeyStoreBase):
    """A client's data key, wrapped by the KEK named in ``kek_id``."""

    __tablename__ = "client_key"

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class VaultError(RuntimeError):
    """A key is missing or a ciphertext does not belong where it was found. Never carries data."""


def write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``data``; refuses to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_secret(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    write_secret(temporary, data)
    os.replace(temporary, path)


def ensure_private_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def aad(*parts: str) -> bytes:
    """Associated data naming where a ciphertext belongs."""
    return _SEP.join([_AAD_PREFIX, *(part.encode() for part in parts)])


class KekRing:
    """The key-encryption keys: one file each in ``<keys>/kek``, and a pointer to the active one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "kek"
        self._loaded: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    def ensure(self, now: dt.datetime) -> str:
        """The active KEK's id; creates the first KEK on a fresh installation."""
        ensure_private_folder(self.folder)
        active = self.active_id()
        if active is None:
            active = self.create(now)
            self.activate(active)
        return active

    def active_id(self) -> str | None:
        pointer = self.folder / "active"
        return pointer.read_text().strip() if pointer.exists() else None

    def ids(self) -> list[str]:
        return sorted(path.stem for path in self.folder.glob("kek-*.key"))

    @staticmethod
    def created_at(kek_id: str) -> dt.datetime:
        """When the KEK ``kek_id`` was made: its id says so (``kek-20261123T101500Z-…``)."""
        return dt.datetime.strptime(kek_id.split("-")[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)

    def create(self, now: dt.datetime) -> str:
        ensure_private_folder(self.folder)
        kek_id = f"kek-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        write_secret(self.folder / f"{kek_id}.key", base64.b64encode(AESGCM.generate_key(bit_length=256)))
        return kek_id

    def activate(self, kek_id: str) -> None:
        self.load(kek_id)
        _replace_secret(self.folder / "active", kek_id.encode())

    def load(self, kek_id: str) -> AESGCM:
        """The KEK ``kek_id``; refused once its file is gone (another process's rotation destroyed it)."""
        path = self.folder / f"{kek_id}.key"
        with self._lock:
            if not path.exists():
                self._loaded.pop(kek_id, None)
                raise VaultError(f"key-encryption key {kek_id} is not in the key folder")
            cipher = self._loaded.get(kek_id)
            if cipher is None:
                cipher = AESGCM(base64.b64decode(path.read_bytes()))
                self._loaded[kek_id] = cipher
            return cipher

    def destroy(self, kek_id: str) -> None:
        with self._lock:
            self._loaded.pop(kek_id, None)
        (self.folder / f"{kek_id}.key").unlink(missing_ok=True)


class BlindIndex:
    """Keyed HMAC-SHA-256 for look-ups by BSN or a partner's own reference (the key is a file, 0600)."""

    def __init__(self, folder: Path) -> None:
        path = folder / "blind-index.key"
        if not path.exists():
            ensure_private_folder(folder)
            write_secret(path, base64.b64encode(secrets.token_bytes(32)))
        self._key = base64.b64decode(path.read_bytes())

    def _digest(self, *parts: str) -> str:
        return hmac.new(self._key, _SEP.join(part.encode() for part in parts), hashlib.sha256).hexdigest()

    def bsn(self, bsn: str) -> str:
        return self._digest("bsn", bsn.strip())

    def source_reference(self, party: str, reference: str) -> str:
        return self._digest("source-reference", party, reference)


@dataclass(frozen=True, slots=True)
class RotationReport:
    new_kek: str
    rewrapped: int
    destroyed: list[str]


class Vault:
    """Per-client envelope encryption over the key store and the KEK ring."""

    def __init__(self, engine: Engine, ring: KekRing, *, writer: Engine | None = None, cache_seconds: float = 60.0,
                 cache_size: int = 10_000) -> None:
        """``engine`` reads the key store (concurrently); ``writer`` (default: ``engine``) changes it."""
        self._engine = engine
        self._writer = writer or engine
        self._ring = ring
        self._cache: OrderedDict[tuple[uuid.UUID, int], tuple[AESGCM, float]] = OrderedDict()
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def check(self) -> None:
        """Refuse to run when a wrapped key names a KEK that is not in the key folder (fail closed)."""
        with self._engine.connect() as conn:
            used = set(conn.scalars(select(ClientKey.kek_id).distinct()))
        missing = sorted(used - set(self._ring.ids()))
        if missing:
            raise VaultError(f"the key folder lacks key-encryption keys the key store uses: {', '.join(missing)}")

    @staticmethod
    def _wrap_aad(client_id: uuid.UUID, version: int) -> bytes:
        return aad("data-key", str(client_id), str(version))

    def _unwrap(self, client_id: uuid.UUID, version: int, wrapped: bytes, kek_id: str) -> bytes:
        try:
            return self._ring.load(kek_id).decrypt(wrapped[:_NONCE], wrapped[_NONCE:],
                                                   self._wrap_aad(client_id, version))
        except InvalidTag:
            raise VaultError("a wrapped data key does not belong to its client") from None

    def _wrap(self, client_id: uuid.UUID, version: int, data_key: bytes, kek_id: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._ring.load(kek_id).encrypt(nonce, data_key, self._wrap_aad(client_id, version))

    @contextmanager
    def _changing(self):
        """A key-store transaction that holds the key store's write lock: key creation and KEK
        rotation exclude each other, so no data key is wrapped by a KEK that rotation is destroying
        (SQLite: the write lock of ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock)."""
        with self._writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_KEYSTORE_LOCK})
            yield conn

    def create_client_key(self, client_id: uuid.UUID, now: dt.datetime) -> int:
        """Create and store (wrapped) the client's first data key; returns its version.

        Idempotent: a client that already has a key (a registration whose data commit failed after
        its key was made, and is now repeated) keeps it.
        """
        with self._changing() as conn:
            if conn.scalar(select(ClientKey.version).where(ClientKey.client_id == client_id, ClientKey.version == 1)):
                return 1
            kek_id = self._ring.active_id()  # read under the lock: a rotation cannot be between steps
            if kek_id is None:
                raise VaultError("no active key-encryption key; run the set-up first")
            wrapped = self._wrap(client_id, 1, AESGCM.generate_key(bit_length=256), kek_id)
            conn.execute(insert(ClientKey).values(client_id=client_id, version=1, wrapped_key=wrapped,
                                                  kek_id=kek_id, created_at=now))
        return 1

    def renew_client_key(self, client_id: uuid.UUID, now: dt.datetime) -> int:
        """Create the client's next data key (one version above the newest) and return its version.

        Unlike KEK rotation, which rewraps the same data keys, this is a new data key: content
        re-encrypted under it no longer depends on the old one, which can then be destroyed
        (:meth:`destroy_client_keys_before`), so that old ciphertext still lying in free pages of the
        database (PostgreSQL's dead tuples, a backup) can no longer be read (crypto-shredding).
        """
        with self._changing() as conn:
            newest = conn.scalar(select(func.max(ClientKey.version)).where(ClientKey.client_id == client_id))
            if newest is None:
                raise VaultError("the client has no data key")
            kek_id = self._ring.active_id()
            if kek_id is None:
                raise VaultError("no active key-encryption key; run the set-up first")
            version = newest + 1
            conn.execute(insert(ClientKey).values(
                client_id=client_id, version=version, kek_id=kek_id, created_at=now,
                wrapped_key=self._wrap(client_id, version, AESGCM.generate_key(bit_length=256), kek_id)))
        return version

    def destroy_client_keys_before(self, client_id: uuid.UUID, version: int) -> int:
        """Destroy the client's data keys older than ``version`` (from the key store, its WAL and this
        process's cache); returns how many were destroyed."""
        with self._changing() as conn:
            destroyed = conn.execute(ClientKey.__table__.delete().where(
                ClientKey.__table__.c.client_id == client_id, ClientKey.__table__.c.version < version)).rowcount
        with self._lock:
            for key in [key for key in self._cache if key[0] == client_id and key[1] < version]:
                del self._cache[key]
        truncate_wal(self._writer)
        return destroyed

    def destroy_client_keys(self, client_ids: list[uuid.UUID]) -> int:
        """Destroy every data key of these clients (the retention purge: crypto-shredding of the whole
        file), durably, and from this process's cache; returns how many keys were destroyed. The
        caller empties the key store's WAL (:func:`gateway.db.truncate_wal`) once it has done a batch."""
        if not client_ids:
            return 0
        table = ClientKey.__table__
        with self._changing() as conn:
            destroyed = conn.execute(table.delete().where(table.c.client_id.in_(client_ids))).rowcount
        gone = set(client_ids)
        with self._lock:
            for key in [key for key in self._cache if key[0] in gone]:
                del self._cache[key]
        return destroyed

    def _data_key(self, client_id: uuid.UUID, version: int) -> AESGCM:
        key = (client_id, version)
        moment = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[1] > moment:
                self._cache.move_to_end(key)
                return hit[0]
        with self._engine.connect() as conn:
            row = conn.execute(select(ClientKey.wrapped_key, ClientKey.kek_id)
                               .where(ClientKey.client_id == client_id, ClientKey.version == version)).first()
        if row is None:
            raise VaultError("the client's data key does not exist (destroyed or never made)")
        cipher = AESGCM(self._unwrap(client_id, version, row.wrapped_key, row.kek_id))
        if self._cache_seconds > 0:
            with self._lock:
                self._cache[key] = (cipher, moment + self._cache_seconds)
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return cipher

    def latest_version(self, client_id: uuid.UUID) -> int:
        with self._engine.connect() as conn:
            version = conn.scalar(select(func.max(ClientKey.version)).where(ClientKey.client_id == client_id))
        if version is None:
            raise VaultError("the client has no data key")
        return version

    def encrypt(self, client_id: uuid.UUID, version: int, associated: bytes, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _FORMAT + nonce + self._data_key(client_id, version).encrypt(nonce, plaintext, associated)

    def decrypt(self, client_id: uuid.UUID, version: int, associated: bytes, ciphertext: bytes) -> bytes:
        if ciphertext[:1] != _FORMAT:
            raise VaultError("unknown ciphertext format")
        try:
            return self._data_key(client_id, version).decrypt(
                ciphertext[1:1 + _NONCE], ciphertext[1 + _NONCE:], associated)
        except InvalidTag:
            raise VaultError("a ciphertext does not belong where it was found") from None

    def forget_cached(self) -> None:
        with self._lock:
            self._cache.clear()

    def active_kek_since(self) -> dt.datetime | None:
        """When the active key-encryption key was made; ``None`` before the first."""
        active = self._ring.active_id()
        return None if active is None else self._ring.created_at(active)

    def rotate_kek(self, now: dt.datetime, *, batch: int = 1_000) -> RotationReport:
        """Introduce a new KEK, rewrap every data key with it, and destroy the old KEKs.

        Entries are not re-encrypted: their data keys do not change. Each wrapped key names its KEK,
        so reads keep working at every step. The new KEK becomes active first (under the key store's
        lock, so every key created from then on uses it); then the existing keys are rewrapped; the
        old KEKs are destroyed only once, under the lock, no wrapped key names them any more. That
        also makes data keys left in old backups of the key store useless.
        """
        new_kek = self._ring.create(now)
        with self._changing():
            self._ring.activate(new_kek)
        rewrapped = 0
        with self._changing() as conn:
            updates = []
            rows = conn.execute(select(ClientKey.client_id, ClientKey.version, ClientKey.wrapped_key,
                                       ClientKey.kek_id).where(ClientKey.kek_id != new_kek)).all()
            for row in rows:
                raw = self._unwrap(row.client_id, row.version, row.wrapped_key, row.kek_id)
                updates.append({"c": row.client_id, "v": row.version,
                                "w": self._wrap(row.client_id, row.version, raw, new_kek)})
                if len(updates) >= batch:
                    rewrapped += self._rewrap(conn, updates, new_kek)
                    updates = []
            rewrapped += self._rewrap(conn, updates, new_kek)
            left = conn.scalar(select(func.count()).select_from(ClientKey).where(ClientKey.kek_id != new_kek))
            if left:
                raise VaultError("data keys under an old key-encryption key remain; nothing was destroyed")
            destroyed = [kek for kek in self._ring.ids() if kek != new_kek]
            for kek in destroyed:
                self._ring.destroy(kek)
        truncate_wal(self._writer)  # the data keys as wrapped by the old KEKs: out of the WAL as well
        return RotationReport(new_kek=new_kek, rewrapped=rewrapped, destroyed=destroyed)

    @staticmethod
    def _rewrap(conn, updates: list[dict], kek_id: str) -> int:
        if not updates:
            return 0
        statement = (update(ClientKey.__table__)
                     .where(ClientKey.__table__.c.client_id == bindparam("c"),
                            ClientKey.__table__.c.version == bindparam("v"))
                     .values(wrapped_key=bindparam("w"), kek_id=kek_id))
        conn.execute(statement, updates)
        return len(updates)
