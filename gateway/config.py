"""Settings, from the environment (``GATEWAY_`` prefix) or a ``.env`` file.

The embedded default needs nothing set: a SQLite database and a key folder under ``./var``.
Production sets ``GATEWAY_MODE=production`` and is refused the demo's conveniences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies import DEMO_REGION


class TrustedIdentityProvider(BaseModel):
    """A party's own identity provider, trusted to name that party's staff in JWT-bearer assertions."""

    issuer: str = Field(min_length=1, max_length=300)
    jwks_url: str = Field(pattern=r"^https?://", max_length=500)


class OidcProvider(BaseModel):
    """A party's own OpenID Connect provider, through which that party's staff sign in to the web UI.

    The gateway is a confidential client of it (``client_secret_basic`` at the token endpoint); the
    provider's endpoints and keys come from ``<issuer>/.well-known/openid-configuration``.
    """

    issuer: str = Field(pattern=r"^https?://[^?#]+$", max_length=300)
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=500)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    mode: Literal["demo", "production"] = "demo"
    home: Path = Field(default=Path("var"), description="Folder of the embedded database and key store")
    database_url: str | None = Field(default=None, description="Data and audit database; SQLite in home by default")
    keystore_url: str | None = Field(default=None, description="Key store database; SQLite in keys_dir by default")
    keys_dir: Path | None = Field(default=None, description="Key-encryption keys, signing key, blind-index key")
    covenant_file: Path = Field(default=DEMO_REGION, description="The covenant document that demo mode adopts "
                                "when no version is in force; in production, only what `gateway covenant propose` reads")
    covenant_refresh_seconds: float = Field(default=5.0, ge=0, le=60, description="At most this long (monotonic) "
                                            "before an instance sees a version that another instance put in force")
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
    oidc_providers: dict[str, OidcProvider] = Field(
        default_factory=dict, description="Per party code: the OpenID Connect provider through which the party's "
                                          "staff sign in to the web UI (JSON: {party: {issuer, client_id, "
                                          "client_secret}})")
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
    scheduler: bool = Field(default=True, description=(
        "Run the scheduled jobs (sealing, purges) in this gateway serve process; each run happens once "
        "across instances, so every instance may keep it on"))
    requests_due_soon_days: int = Field(default=3, ge=0, le=60, description=(
        "A client's open request counts as due soon this many days before its deadline (the queue's flag)"))
    reminder_days: str = Field(default="3,1", description=(
        "Remind a client manager this many days before each deadline of an open request (comma-separated)"))
    retention_notice_days: int = Field(default=30, ge=1, le=365, description=(
        "Tell a client's client manager and the controller's field directors this many days before the "
        "client's retention term ends (art. 9.3-9.5)"))
    smtp_host: str | None = Field(default=None, description=(
        "SMTP server for deadline reminders and escalations; unset: no e-mail, notices in the web UI only"))
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = Field(default="gateway@localhost", max_length=254,
                           description="The From address of the gateway's e-mail")
    ui_idle_seconds: int = Field(default=900, ge=60, le=3600,
                                 description="A web UI session ends after this long without a request")
    regions: Path | None = Field(default=None, description=(
        "Further covenants served by this gateway, one per region: a JSON or TOML file mapping each region id "
        "to its own covenant_file, database_url, keys_dir (and keystore_url, trusted_idps); served under "
        "/regions/<id>. These settings are the default region's (see gateway.regions)"))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"GATEWAY_TIMEZONE names no time zone: {value!r}") from None
        return value

    @field_validator("reminder_days")
    @classmethod
    def _day_list(cls, value: str) -> str:
        try:
            days = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError(f"GATEWAY_REMINDER_DAYS is not a list of days such as 3,1: {value!r}") from None
        if any(day < 1 or day > 60 for day in days):
            raise ValueError("GATEWAY_REMINDER_DAYS: each day is between 1 and 60 days before the deadline")
        return ",".join(str(day) for day in sorted(set(days), reverse=True))

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
            if any(not provider.issuer.startswith("https://") for provider in self.oidc_providers.values()):
                raise ValueError("GATEWAY_OIDC_PROVIDERS: issuers must be https URLs in production")
            if self.smtp_password is not None and not self.smtp_starttls:
                raise ValueError("GATEWAY_SMTP_STARTTLS must be on in production when a password is sent")
        if self.regions is not None:
            from gateway.regions import regions_of

            regions_of(self)  # refused here, at start-up, rather than when a region is first used
        return self

    @property
    def demo(self) -> bool:
        return self.mode == "demo"

    @property
    def reminders(self) -> tuple[int, ...]:
        """The days before a deadline that a reminder goes out, most distant first."""
        return tuple(int(day) for day in self.reminder_days.split(",") if day)

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
