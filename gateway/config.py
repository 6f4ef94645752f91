"""Settings, from the environment (``GATEWAY_`` prefix) or a ``.env`` file.

The embedded default needs nothing set: a SQLite database and a key folder under ``./var``.
Production sets ``GATEWAY_MODE=production`` and is refused the demo's conveniences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies import DEMO_REGION


class TrustedIdentityProvider(BaseModel):
    """A party's own identity provider, trusted to name that party's staff in JWT-bearer assertions."""

    issuer: str = Field(min_length=1, max_length=300)
    jwks_url: str = Field(pattern=r"^https?://", max_length=500)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    mode: Literal["demo", "production"] = "demo"
    home: Path = Field(default=Path("var"), description="Folder of the embedded database and key store")
    database_url: str | None = Field(default=None, description="Data and audit database; SQLite in home by default")
    keystore_url: str | None = Field(default=None, description="Key store database; SQLite in keys_dir by default")
    keys_dir: Path | None = Field(default=None, description="Key-encryption keys, signing key, blind-index key")
    covenant_file: Path = Field(default=DEMO_REGION, description="The covenant document in force")
    public_url: str = Field(default="http://127.0.0.1:8000",
                            description="Where partners reach the gateway (https in production); the OAuth issuer")
    issuer: str = Field(default="", description="The tokens' issuer; the public URL unless set")
    audience: str = "covenant-gateway"
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    oauth_token_ttl_seconds: int = Field(default=600, ge=60, le=3600,
                                         description="Lifetime of access tokens issued to partner systems")
    log_format: Literal["console", "json"] | None = None
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    trusted_idps: dict[str, TrustedIdentityProvider] = Field(
        default_factory=dict, description="Per party code: an identity provider whose assertions name the "
                                          "party's staff (JSON: {party: {issuer, jwks_url}})")
    dek_cache_seconds: float = Field(default=60.0, ge=0)
    timezone: str = Field(default="Europe/Amsterdam",
                          description="Where the covenant's calendar dates fall (a contact on a date, a deadline)")
    rate_limit: str = Field(default="600/minute", description=(
        "Requests per partner system (the token's client_id) in the v1 API, e.g. 600/minute or 20/second;600/minute"))
    rate_limit_storage: str = Field(default="memory://", description=(
        "Where the rate limits count: memory:// per instance; redis://host:6379 shared by several instances"))
    token_rate_limit: str = Field(default="60/minute", description=(
        "Token, revocation and introspection requests per presented client id"))
    rate_limit_strategy: Literal["moving-window", "sliding-window"] = "moving-window"
    ui_idle_seconds: int = Field(default=900, ge=60, le=3600,
                                 description="A web UI session ends after this long without a request")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"GATEWAY_TIMEZONE names no time zone: {value!r}") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _plain_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or "?" in value or "#" in value:
            raise ValueError("GATEWAY_PUBLIC_URL must be an http(s) URL without query or fragment")
        return value.rstrip("/")

    @field_validator("rate_limit", "token_rate_limit")
    @classmethod
    def _known_rate(cls, value: str, info: ValidationInfo) -> str:
        from gateway.ratelimit import parse_rate

        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(f"GATEWAY_{info.field_name.upper()} is not a rate such as 600/minute: {value!r}") from None
        return value

    @model_validator(mode="after")
    def _refuse_demo_defaults_in_production(self) -> "Settings":
        if not self.issuer:
            self.issuer = self.public_url
        if self.mode == "production":
            if self.covenant_file.resolve() == DEMO_REGION.resolve():
                raise ValueError("GATEWAY_COVENANT_FILE must name the region's own covenant in production")
            if self.database_url is None:
                raise ValueError("GATEWAY_DATABASE_URL must be set in production")
            if self.keys_dir is None:
                raise ValueError("GATEWAY_KEYS_DIR must be set in production")
            if not self.public_url.startswith("https://"):
                raise ValueError("GATEWAY_PUBLIC_URL must be an https URL in production (OAuth 2 needs TLS)")
            if any(not idp.jwks_url.startswith("https://") for idp in self.trusted_idps.values()):
                raise ValueError("GATEWAY_TRUSTED_IDPS: key sets must be fetched over https in production")
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
