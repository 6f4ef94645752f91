"""Everything a running gateway holds once: settings, the covenant in force, engines, vault, tokens.

Built the same way by the HTTP app, the CLI and the tests, so there is one way to be configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from audit import GroupCommitter
from covenant import Covenant, load_covenant
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
    covenant: Covenant
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
            covenant=covenant,
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
                                     strategy=settings.rate_limit_strategy),
            idempotency=IdempotencySecret(keys),
            seal_key=seal_key,
            _sessions=sessionmaker(engine, expire_on_commit=False),
            _checkpointer=Checkpointer(settings.data_url).start() if is_sqlite(settings.data_url) else None,
        )
        log.info("runtime_ready", covenant=covenant.label, covenant_digest=covenant.digest[:16],
                 engine=engine.dialect.name)
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
