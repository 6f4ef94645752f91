"""Settings, from the environment (``GATEWAY_`` prefix) or a ``.env`` file.

The embedded default needs nothing set: a SQLite database and a key folder under ``./var``.
Production sets ``GATEWAY_MODE=production`` and is refused the demo's conveniences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies import DEMO_REGION


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    mode: Literal["demo", "production"] = "demo"
    home: Path = Field(default=Path("var"), description="Folder of the embedded database and key store")
    database_url: str | None = Field(default=None, description="Data and audit database; SQLite in home by default")
    keystore_url: str | None = Field(default=None, description="Key store database; SQLite in keys_dir by default")
    keys_dir: Path | None = Field(default=None, description="Key-encryption keys, signing key, blind-index key")
    covenant_file: Path = Field(default=DEMO_REGION, description="The covenant document in force")
    issuer: str = "urn:covenant-gateway"
    audience: str = "covenant-gateway"
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    log_format: Literal["console", "json"] | None = None
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    dek_cache_seconds: float = Field(default=60.0, ge=0)
    timezone: str = Field(default="Europe/Amsterdam",
                          description="Where the covenant's calendar dates fall (a contact on a date, a deadline)")
    rate_limit: str = Field(default="600/minute", description=(
        "Requests per partner system (the token's client_id) in the v1 API, e.g. 600/minute or 20/second;600/minute"))
    rate_limit_storage: str = Field(default="memory://", description=(
        "Where the rate limits count: memory:// per instance; redis://host:6379 shared by several instances"))
    rate_limit_strategy: Literal["moving-window", "sliding-window"] = "moving-window"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"GATEWAY_TIMEZONE names no time zone: {value!r}") from None
        return value

    @field_validator("rate_limit")
    @classmethod
    def _known_rate(cls, value: str) -> str:
        from gateway.ratelimit import parse_rate

        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(f"GATEWAY_RATE_LIMIT is not a rate such as 600/minute: {value!r}") from None
        return value

    @model_validator(mode="after")
    def _refuse_demo_defaults_in_production(self) -> "Settings":
        if self.mode == "production":
            if self.covenant_file.resolve() == DEMO_REGION.resolve():
                raise ValueError("GATEWAY_COVENANT_FILE must name the region's own covenant in production")
            if self.database_url is None:
                raise ValueError("GATEWAY_DATABASE_URL must be set in production")
            if self.keys_dir is None:
                raise ValueError("GATEWAY_KEYS_DIR must be set in production")
        return self

    @property
    def demo(self) -> bool:
        return self.mode == "demo"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def key_folder(self) -> Path:
        return self.keys_dir if self.keys_dir is not None else self.home / "keys"

    @property
    def data_url(self) -> str:
        return normalise_url(self.database_url) if self.database_url else f"sqlite:///{self.home / 'gateway.db'}"

    @property
    def key_store_url(self) -> str:
        if self.keystore_url:
            return normalise_url(self.keystore_url)
        return f"sqlite:///{self.key_folder / 'keystore.db'}"

    @property
    def console_logs(self) -> bool:
        return self.log_format == "console" if self.log_format else self.demo


def normalise_url(url: str) -> str:
    """Let operators write ``postgresql://``; the gateway speaks psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
