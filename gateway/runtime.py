"""Everything a running gateway holds once: settings, the covenant in force, engines, vault, tokens.

Built the same way by the HTTP app, the CLI and the tests, so there is one way to be configured.

The covenant in force is the version every party approved (art. 16, see :mod:`gateway.covenants`),
at ``clock()``: ``runtime.covenant``. The covenant file (``GATEWAY_COVENANT_FILE``) is what demo mode
proposes and approves itself when no version is in force; in production it is only a proposal's
source, and with no version in force nothing is served (``CovenantNotInForce``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from audit import GroupCommitter
import datetime as dt

from covenant import Covenant, load_covenant
from gateway.covenants.registry import CovenantNotInForce, CovenantVersions
from gateway.clock import Clock, system_clock
from gateway.auditlog.sealing import SealKey
from gateway.config import Settings
from gateway.db import Checkpointer, create_db_engine, is_sqlite, migrate
from gateway.idempotency import IdempotencySecret
from gateway.oauth.idp import IdentityProviderKeys
from gateway.ratelimit import RateLimiter
from gateway.tokens import SigningKeyRing, TokenService
from gateway.vault import BlindIndex, KekRing, Vault, VaultError, ensure_private_folder

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    file_covenant: Covenant
    versions: CovenantVersions
    clock: Clock
    engine: Engine
    writer_engine: Engine
    keystore_engine: Engine
    keystore_writer: Engine
    committer: GroupCommitter
    vault: Vault
    blind_index: BlindIndex
    tokens: TokenService
    rate_limiter: RateLimiter
    idempotency: IdempotencySecret
    seal_key: SealKey
    idp_keys: IdentityProviderKeys = field(default_factory=IdentityProviderKeys)
    _sessions: sessionmaker = field(repr=False, default=None)
    _checkpointer: Checkpointer | None = field(repr=False, default=None)
    _covenant_override: Covenant | None = field(repr=False, default=None)

    @property
    def covenant(self) -> Covenant:
        """The covenant version in force now; :class:`CovenantNotInForce` (503) when none is."""
        return self.covenant_at(self.clock())

    @covenant.setter
    def covenant(self, value: Covenant | None) -> None:
        """Put a covenant in place of the versions (tests that vary one rule)."""
        self._covenant_override = value

    def covenant_at(self, moment: dt.datetime) -> Covenant:
        if self._covenant_override is not None:
            return self._covenant_override
        covenant = self.versions.at(moment)
        if covenant is None:
            raise CovenantNotInForce()
        return covenant

    def governing_covenant(self) -> Covenant:
        """What decides the covenant's own administration: the version in force, or, before any is,
        the covenant file (so that the administrator can propose the first version)."""
        if self._covenant_override is not None:
            return self._covenant_override
        return self.versions.at(self.clock()) or self.file_covenant

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock = system_clock, prepare: bool = True) -> "Runtime":
        """Load the covenant, open the databases and the key folder.

        ``prepare`` applies the migrations and creates missing key material on a fresh
        installation, as set-up and start-up do.
        """
        covenant = load_covenant(settings.covenant_file)
        engine = create_db_engine(settings.data_url)
        writer_engine = create_db_engine(settings.data_url, writer=True, pool_size=2, checkpoint_in_commits=False)
        keystore_engine = create_db_engine(settings.key_store_url)
        keystore_writer = create_db_engine(settings.key_store_url, writer=True, pool_size=2)
        keys = ensure_private_folder(settings.key_folder)
        ring = KekRing(keys)
        signing = SigningKeyRing(keys)
        seal_key = SealKey(keys)
        if prepare:
            migrate(writer_engine, "data")
            migrate(keystore_writer, "keystore")
            ring.ensure(clock())
            signing.ensure(clock())
            seal_key.ensure()
        if not signing.path.exists():
            raise VaultError(f"no token signing keys in {keys}; run the set-up (gateway demo) or start-up first")
        vault = Vault(keystore_engine, ring, writer=keystore_writer, cache_seconds=settings.dek_cache_seconds)
        vault.check()
        runtime = cls(
            settings=settings,
            file_covenant=covenant,
            versions=CovenantVersions(engine, refresh_seconds=settings.covenant_refresh_seconds),
            clock=clock,
            engine=engine,
            writer_engine=writer_engine,
            keystore_engine=keystore_engine,
            keystore_writer=keystore_writer,
            committer=GroupCommitter(writer_engine),
            vault=vault,
            blind_index=BlindIndex(keys),
            tokens=TokenService(signing, issuer=settings.issuer, audience=settings.audience),
            rate_limiter=RateLimiter(settings.rate_limit, storage=settings.rate_limit_storage,
                                     strategy=settings.rate_limit_strategy,
                                     namespace=settings.audience + "/"),  # a region's own (gateway.regions)
            idempotency=IdempotencySecret(keys),
            seal_key=seal_key,
            _sessions=sessionmaker(engine, expire_on_commit=False),
            _checkpointer=Checkpointer(settings.data_url).start() if is_sqlite(settings.data_url) else None,
        )
        if prepare and settings.demo:
            from gateway.covenants.service import bootstrap_demo

            bootstrap_demo(runtime)
        in_force = runtime.versions.at(clock())
        log.info("runtime_ready", covenant=in_force.label if in_force else None,
                 covenant_digest=in_force.digest[:16] if in_force else None, engine=engine.dialect.name)
        return runtime

    def session(self) -> Session:
        return self._sessions()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.committer.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        for engine in {self.engine, self.writer_engine, self.keystore_engine, self.keystore_writer}:
            engine.dispose()
