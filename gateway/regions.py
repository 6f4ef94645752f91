"""Several covenants in one gateway: one region (a region's or municipality's covenant) each, with no
path from one to another.

Isolation is by construction, not by filters: every region has a :class:`~gateway.runtime.Runtime` of
its own, built from settings of its own, so its own data database (or PostgreSQL schema), key store,
key folder (key-encryption keys, token-signing keys, the trail's sealing key), covenant file and
versions, rate limiter and scheduler. Nothing is shared but the process.

The settings of ``GATEWAY_*`` are the *default* region, served at the root (``/v1/...``,
``/oauth/...``, ``/ui/...``). ``GATEWAY_REGIONS`` names a JSON or TOML file that maps each further
region's id to its own ``covenant_file``, ``database_url``, ``keys_dir`` and optional
``keystore_url`` (and ``trusted_idps``)::

    {"region-b": {"covenant_file": "covenants/region-b.toml",
                  "database_url": "postgresql://gateway@db/region_b",
                  "keys_dir": "/srv/gateway/region-b/keys"}}

A further region is served under ``/regions/<id>`` (``/regions/region-b/v1/clients/...``,
``/regions/region-b/oauth/token``, ``/regions/region-b/openapi.json``). Its public URL, and so its
OAuth issuer, ends in that prefix, and its tokens carry an audience of its own and are signed with
its own key: a token of one region names a key, an issuer and an audience that no other region
knows, and is refused there (401, ``auth.rejected`` in the trail of the region it was presented to).
Each region's web UI is served under its prefix too (``/regions/region-b/ui``), with a session cookie
of its own name (``gateway-ui-region-b``) signed with the region's own key, and, outside demo mode, the
region's own OpenID Connect providers (``oidc_providers`` in its entry): a session of one region is
no session in another.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.config import OidcProvider, Settings, TrustedIdentityProvider, normalise_url
from policies import DEMO_REGION

if TYPE_CHECKING:
    from gateway.clock import Clock
    from gateway.runtime import Runtime

DEFAULT = "default"
PREFIX = "/regions"
REGION_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_ROUTE = re.compile(r"^/regions/([^/]+)(?=/|$)")


class RegionError(ValueError):
    """``GATEWAY_REGIONS`` cannot be used, or names no such region."""


class RegionConfig(BaseModel):
    """One further region: where its covenant, data and keys are; nothing of another's."""

    model_config = ConfigDict(extra="forbid")

    covenant_file: Path
    database_url: str = Field(min_length=1)
    keys_dir: Path
    keystore_url: str | None = None
    trusted_idps: dict[str, TrustedIdentityProvider] = Field(default_factory=dict)
    oidc_providers: dict[str, OidcProvider] = Field(default_factory=dict)


def _read(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RegionError(f"GATEWAY_REGIONS cannot be read: {path} ({type(exc).__name__})") from None
    try:
        return tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RegionError(f"GATEWAY_REGIONS is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {path}"
                          ) from None


def _sqlite_resolved(url: str) -> str:
    """One spelling per database, so that two names of one file are seen to be the same."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return "sqlite:///" + str(Path(url[len("sqlite:///"):].split("?", 1)[0]).resolve())
    return url


def regions_of(settings: Settings) -> dict[str, RegionConfig]:
    """The further regions of ``settings`` (none without ``GATEWAY_REGIONS``), checked: ids are codes,
    and no two regions (the default included) share a database, a key store or a key folder."""
    if settings.regions is None:
        return {}
    document = _read(settings.regions)
    if not isinstance(document, dict):
        raise RegionError("GATEWAY_REGIONS maps region ids to their settings")
    base = settings.regions.parent
    regions: dict[str, RegionConfig] = {}
    for region_id, entry in document.items():
        if not isinstance(region_id, str) or not REGION_ID.match(region_id) or region_id == DEFAULT:
            raise RegionError(f"GATEWAY_REGIONS: a region id is a code of lower-case letters, digits and "
                              f"hyphens, not {DEFAULT!r}: {region_id!r}")
        try:
            config = RegionConfig.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise RegionError(f"GATEWAY_REGIONS: region {region_id}: {'.'.join(map(str, error['loc']))}: "
                              f"{error['msg']}") from None
        config = config.model_copy(update={"covenant_file": base / config.covenant_file,
                                           "keys_dir": base / config.keys_dir})
        if settings.mode == "production" and config.covenant_file.resolve() == DEMO_REGION.resolve():
            raise RegionError(f"GATEWAY_REGIONS: region {region_id} must name its own covenant in production")
        if settings.mode == "production" and any(not idp.jwks_url.startswith("https://")
                                                 for idp in config.trusted_idps.values()):
            raise RegionError(f"GATEWAY_REGIONS: region {region_id}: key sets must be fetched over https in "
                              "production")
        if settings.mode == "production" and any(not provider.issuer.startswith("https://")
                                                 for provider in config.oidc_providers.values()):
            raise RegionError(f"GATEWAY_REGIONS: region {region_id}: OpenID Connect issuers must be https URLs "
                              "in production")
        regions[region_id] = config
    stores: dict[str, str] = {}
    folders: dict[Path, str] = {}
    for region_id, region in [(DEFAULT, settings), *((rid, settings_for(settings, rid, regions))
                                                     for rid in regions)]:
        data, keystore = _sqlite_resolved(region.data_url), _sqlite_resolved(region.key_store_url)
        if data == keystore:
            raise RegionError(f"GATEWAY_REGIONS: region {region_id} keeps its key store in its data database")
        for url in (data, keystore):
            other = stores.setdefault(url, region_id)
            if other != region_id:
                raise RegionError(f"GATEWAY_REGIONS: regions {other} and {region_id} share a database or key store")
        other = folders.setdefault(region.key_folder.resolve(), region_id)
        if other != region_id:
            raise RegionError(f"GATEWAY_REGIONS: regions {other} and {region_id} share a key folder")
    return regions


def settings_for(settings: Settings, region_id: str | None,
                 regions: dict[str, RegionConfig] | None = None) -> Settings:
    """The settings of one region: the default's own, or a further region's, which take nothing of
    the default's databases, keys, covenant or identity providers."""
    if region_id in (None, DEFAULT):
        return settings
    table = regions_of(settings) if regions is None else regions
    config = table.get(region_id)
    if config is None:
        raise RegionError(f"no region {region_id!r} is configured (GATEWAY_REGIONS)")
    public_url = f"{settings.public_url}{PREFIX}/{region_id}"
    return settings.model_copy(update={
        "regions": None, "covenant_file": config.covenant_file, "database_url": normalise_url(config.database_url),
        "keystore_url": normalise_url(config.keystore_url) if config.keystore_url else None,
        "keys_dir": config.keys_dir, "home": config.keys_dir.parent, "public_url": public_url, "issuer": public_url,
        "audience": f"{settings.audience}:{region_id}", "trusted_idps": dict(config.trusted_idps),
        "oidc_providers": dict(config.oidc_providers)})


def build_runtimes(settings: Settings, *, clock: "Clock | None" = None) -> dict[str, "Runtime"]:
    """Every configured region's runtime, the default first; all closed again if one cannot be built."""
    from gateway.clock import system_clock
    from gateway.runtime import Runtime

    runtimes: dict[str, Runtime] = {}
    try:
        for region_id in (DEFAULT, *regions_of(settings)):
            runtimes[region_id] = Runtime.build(settings_for(settings, region_id), clock=clock or system_clock)
    except BaseException:
        for runtime in runtimes.values():
            runtime.close()
        raise
    return runtimes


class RegionDispatcher:
    """Pure ASGI: ``/regions/<id>/...`` goes to that region's app (with the prefix as its root path,
    the way Starlette mounts an app), everything else to the default region's app. A region id
    that is not configured is the default app's to answer (404)."""

    def __init__(self, default: ASGIApp, regions: dict[str, ASGIApp]) -> None:
        self.default = default
        self.regions = dict(regions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            match = _ROUTE.match(get_route_path(scope))
            app = self.regions.get(match.group(1)) if match else None
            if app is not None:
                prefix = match.group(0)
                await app({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)
                return
        await self.default(scope, receive, send)


def create_gateway_app(runtimes: dict[str, "Runtime"]) -> ASGIApp:
    """The HTTP application of every region: the default's at the root, each further region's under
    ``/regions/<id>`` (API, OAuth and web UI, the UI's cookie named for the region)."""
    from gateway.main import create_app

    default = create_app(runtimes[DEFAULT])
    others = {region_id: create_app(runtime, ui_cookie=f"gateway-ui-{region_id}")
              for region_id, runtime in runtimes.items() if region_id != DEFAULT}
    return RegionDispatcher(default, others) if others else default
