"""Sign-in to the web UI through the staff member's party's own OpenID Connect provider.

The gateway is a confidential client of each party's provider (``GATEWAY_OIDC_PROVIDERS``) and uses
the authorization code flow with PKCE (S256), ``state`` and ``nonce`` (OpenID Connect Core 3.1;
RFC 7636; the OAuth 2.0 Security BCP, RFC 9700, 2.1). Authlib's client builds the authorization URL
and redeems the code; joserfc checks the ID token against the provider's key set.

Nothing is kept on the server between the two legs: ``state``, ``nonce``, the PKCE verifier and the
party travel in a short-lived cookie signed with the UI's session key (its own salt), HttpOnly and
``SameSite=Lax`` (the provider sends the browser back with a cross-site top-level GET, on which a
Strict cookie would not come along), Secure with the ``__Host-`` prefix outside demo mode. The cookie
is signed, not encrypted: its holder may read the verifier, but the verifier only helps whoever also
holds the code, and both are the holder's own.

Each party has its own redirect URI (``/ui/sign-in/<party>/callback``), and the flow cookie names the
party it was started for, so that an answer from one provider cannot be passed off as another's (the
"mix-up" attack, RFC 9700 4.4). The ID token must come from that party's issuer, for the gateway's
client id, carry the flow's nonce and be unexpired; its ``sub`` is the staff member's handle, and a
handle of another party's staff is refused (as for the JWT-bearer grant: a party's provider speaks for
that party's staff only). Nothing of the token is kept, logged or recorded but the verdict.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Collection

import httpx
import structlog
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import OAuth2Client
from itsdangerous import BadSignature, URLSafeSerializer
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.util import json_b64decode
from starlette.requests import Request
from starlette.responses import Response

from gateway.config import OidcProvider, Settings
from gateway.oauth.idp import IdentityProviderKeys, KeysUnavailable

log = structlog.get_logger(__name__)

FLOW_LIFETIME = dt.timedelta(minutes=10)
METADATA_MAX_AGE = 300.0
MAX_DOCUMENT_BYTES = 100_000
ID_TOKEN_ALGORITHMS = ["RS256", "PS256", "ES256"]
CLOCK_LEEWAY = 60  # seconds of clock skew tolerated between the provider and the gateway


class SignInRefused(Exception):
    """A sign-in through a provider that cannot go on: ``reason`` for the trail, a status and a
    message without personal data for the page."""

    def __init__(self, reason: str, status_code: int, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.detail = detail


def _unavailable() -> SignInRefused:
    return SignInRefused("oidc_provider_unavailable", 502,
                         "your party's identity provider could not be reached or answered wrongly; try again later")


def _token_refused(reason: str) -> SignInRefused:
    return SignInRefused(reason, 401, "the identity provider's answer could not be accepted; sign in again")


@dataclass(frozen=True, slots=True)
class Flow:
    """One sign-in under way: what the callback must find again."""

    party: str
    state: str
    nonce: str
    verifier: str
    started_at: dt.datetime

    @classmethod
    def start(cls, party: str, now: dt.datetime) -> "Flow":
        return cls(party=party, state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                   verifier=secrets.token_urlsafe(48), started_at=now)

    def state_matches(self, state: str | None) -> bool:
        return bool(state) and hmac.compare_digest(self.state.encode(), state.encode())


class FlowCookie:
    """Reads and writes the cookie that carries a :class:`Flow` from the start to the callback."""

    def __init__(self, serializer: URLSafeSerializer, *, secure: bool, name: str = "gateway-ui-sign-in") -> None:
        self._serializer = serializer
        self.secure = secure
        self.cookie_name = f"__Host-{name}" if secure else name

    def read(self, request: Request, now: dt.datetime) -> tuple[Flow | None, str]:
        """The request's flow, or None and why not: ``oidc_flow_missing``, ``oidc_flow_invalid``,
        ``oidc_flow_expired``."""
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return None, "oidc_flow_missing"
        try:
            data = self._serializer.loads(raw)
            flow = Flow(party=data["party"], state=data["state"], nonce=data["nonce"], verifier=data["verifier"],
                        started_at=dt.datetime.fromtimestamp(data["start"], dt.UTC))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None, "oidc_flow_invalid"
        if not dt.timedelta(0) <= now - flow.started_at <= FLOW_LIFETIME:
            return None, "oidc_flow_expired"
        return flow, "oidc_flow_valid"

    def attach(self, response: Response, flow: Flow) -> Response:
        value = self._serializer.dumps({"party": flow.party, "state": flow.state, "nonce": flow.nonce,
                                        "verifier": flow.verifier, "start": flow.started_at.timestamp()})
        response.set_cookie(self.cookie_name, value, path="/", httponly=True, samesite="lax", secure=self.secure,
                            max_age=int(FLOW_LIFETIME.total_seconds()))
        return response

    def clear(self, response: Response) -> Response:
        response.delete_cookie(self.cookie_name, path="/", httponly=True, samesite="lax", secure=self.secure)
        return response


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What the gateway uses of a provider's discovery document (OpenID Connect Discovery 1.0, 3)."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str

    @classmethod
    def from_document(cls, document: object, issuer: str) -> "ProviderMetadata":
        """Discovery 4.3: the document's issuer is exactly the one configured. Its endpoints are
        reached the way the issuer is (an https issuer's endpoints are https)."""
        if not isinstance(document, dict) or document.get("issuer") != issuer:
            raise ValueError("the discovery document names another issuer")
        scheme = issuer.split("://", 1)[0] + "://"
        endpoints = [document.get(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
        if not all(isinstance(url, str) and url.startswith(scheme) and len(url) <= 500 for url in endpoints):
            raise ValueError("the discovery document's endpoints are missing or not under the issuer's scheme")
        return cls(*endpoints)


@dataclass
class _Cached:
    metadata: ProviderMetadata
    fetched: float


class RelyingParty:
    """The gateway as an OpenID Connect client of the parties' providers: discovery (cached five
    minutes), the authorization URL, the code's redemption and the ID token's verification."""

    def __init__(self, settings: Settings, keys: IdentityProviderKeys, *, parties: Collection[str],
                 timeout: float = 5.0) -> None:
        self.settings = settings
        self.keys = keys
        self.parties = frozenset(parties)
        self.timeout = timeout
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def provider(self, party: str) -> OidcProvider | None:
        """The provider configured for ``party``, if the party signed the covenant in force."""
        return self.settings.oidc_providers.get(party) if party in self.parties else None

    def redirect_uri(self, party: str) -> str:
        return f"{self.settings.public_url}/ui/sign-in/{party}/callback"

    def metadata(self, party: str, provider: OidcProvider) -> ProviderMetadata:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(provider.issuer)
        if cached is not None and now - cached.fetched < METADATA_MAX_AGE:
            return cached.metadata
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
            response.raise_for_status()
            if len(response.content) > MAX_DOCUMENT_BYTES:
                raise ValueError("the discovery document is too large")
            metadata = ProviderMetadata.from_document(response.json(), provider.issuer)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc_discovery_failed", party=party, problem=type(exc).__name__)
            raise _unavailable() from None
        with self._lock:
            self._cache[provider.issuer] = _Cached(metadata, now)
        return metadata

    def _client(self, party: str, provider: OidcProvider) -> OAuth2Client:
        return OAuth2Client(client_id=provider.client_id, client_secret=provider.client_secret.get_secret_value(),
                            token_endpoint_auth_method="client_secret_basic", scope="openid",
                            redirect_uri=self.redirect_uri(party), code_challenge_method="S256",
                            timeout=self.timeout, follow_redirects=False)

    def _configured(self, party: str) -> OidcProvider:
        provider = self.provider(party)
        if provider is None:
            raise SignInRefused("oidc_provider_unknown", 404, "no identity provider is configured for this party")
        return provider

    def begin(self, party: str, now: dt.datetime) -> tuple[str, Flow]:
        """Where to send the browser, and the flow to keep in its cookie."""
        provider = self._configured(party)
        metadata = self.metadata(party, provider)
        flow = Flow.start(party, now)
        with self._client(party, provider) as client:
            url, _ = client.create_authorization_url(metadata.authorization_endpoint, state=flow.state,
                                                     code_verifier=flow.verifier, nonce=flow.nonce)
        return url, flow

    def finish(self, flow: Flow, *, code: str, now: dt.datetime) -> str:
        """Redeem ``code`` and verify the ID token; returns its ``sub``."""
        provider = self._configured(flow.party)
        metadata = self.metadata(flow.party, provider)
        try:
            with self._client(flow.party, provider) as client:
                answer = client.fetch_token(metadata.token_endpoint, grant_type="authorization_code", code=code,
                                            code_verifier=flow.verifier)
        except AuthlibBaseError as exc:  # the provider refused the code (invalid_grant, ...)
            log.info("oidc_code_refused", party=flow.party, error=str(getattr(exc, "error", "")))
            raise SignInRefused("oidc_code_refused", 401,
                                "the identity provider did not accept the sign-in; sign in again") from None
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc_token_request_failed", party=flow.party, problem=type(exc).__name__)
            raise _unavailable() from None
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or len(id_token) > 20_000:
            raise _token_refused("oidc_id_token_missing")
        return self.verify_id_token(id_token, flow=flow, provider=provider, metadata=metadata, now=now)

    def verify_id_token(self, id_token: str, *, flow: Flow, provider: OidcProvider, metadata: ProviderMetadata,
                        now: dt.datetime) -> str:
        """OpenID Connect Core 3.1.3.7: signed by the provider's key, issued by it, for this client, with
        this flow's nonce, not expired."""
        try:
            header = json_b64decode(id_token.split(".", 1)[0].encode())
            kid = header.get("kid") if isinstance(header, dict) else None
            keys = self.keys.get(metadata.jwks_uri, kid=kid if isinstance(kid, str) else None)
        except KeysUnavailable:
            raise _unavailable() from None
        except (JoseError, ValueError):
            raise _token_refused("oidc_id_token_invalid") from None
        try:
            token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        except (JoseError, ValueError):
            raise _token_refused("oidc_id_token_invalid") from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()), leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": provider.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": flow.nonce})
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise _token_refused("oidc_id_token_expired") from None
        except ClaimError as exc:
            reason = {"iss": "oidc_issuer_mismatch", "aud": "oidc_audience_mismatch",
                      "nonce": "oidc_nonce_mismatch"}.get(exc.claim, "oidc_id_token_invalid")
            raise _token_refused(reason) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise _token_refused("oidc_audience_mismatch")  # Core 3.1.3.7 item 4-5
        if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 100:
            raise _token_refused("oidc_id_token_invalid")
        return claims["sub"]
