"""The authorization server, on Authlib: token, revocation and introspection endpoints.

Authlib does the protocol (RFC 6749 grants and errors, RFC 7523 assertions, RFC 7009, RFC 7662); this
module gives it the gateway's parts: partner systems from the registry, staff from the database,
time from the gateway's clock, every decision from ``covenant.decide`` and every attempt, issued or
refused, into the audit trail in the same transaction as the assertion ids it burns.

Grants:

* ``client_credentials`` (RFC 6749 §4.4), client authentication ``private_key_jwt`` (RFC 7523 §2.2)
  or ``client_secret_basic``: a token for the system itself (``sub`` is its client id), which
  may only report events.
* ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (RFC 7523 §2.1): the system signs an assertion
  naming one of its party's staff members (``sub``: the staff id or handle); the token is for
  that staff member, with their roles' scopes at most.

A server object is made per request: it holds that request's unit of work.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import or_, select

from audit import AuditAction, Outcome
from covenant import STAFF_ROLES, Action, Decision, Resource, Role, Subject
from covenant.scopes import SCOPES, scopes_for
from gateway.oauth import service as oauth_service
from gateway.oauth.idp import KeysUnavailable
from gateway.oauth.models import PartnerSystem
from gateway.parties.models import Staff
from gateway.tokens import InvalidToken, TokenClaims
from gateway.transaction import Actor, Transaction

JWT_BEARER = JWTBearerGrant.GRANT_TYPE
GRANT_TYPES = ("client_credentials", JWT_BEARER)
PROVIDER_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
# RFC 7523 §3: "a limited window of time". An assertion naming a staff member is short; a client's
# authentication assertion may live as long as common OAuth clients make it (Authlib: an hour).
GRANT_ASSERTION_LIFETIME = dt.timedelta(minutes=5)
CLIENT_ASSERTION_LIFETIME = dt.timedelta(hours=1)
CLOCK_LEEWAY = 30  # seconds either way between a partner's clock and ours


class Refused(Exception):
    """Marks why an OAuth error was raised, in the trail's words (Authlib's error says it to the client)."""


@dataclass(frozen=True, slots=True)
class OAuthResponse:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]


class PartnerClient(ClientMixin):
    """A registered partner system, as Authlib sees a client."""

    def __init__(self, row: PartnerSystem) -> None:
        self.row = row
        self.client_id = row.client_id
        self.party = row.party_id
        self.via_idp = False  # the assertion naming the staff member was signed by the party's provider

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(sorted(set(scope.split()) & set(self.row.scopes))) if scope else ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return oauth_service.secret_matches(client_secret, self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.row.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        # Acting for staff needs a key to sign assertions with: a secret proves no more than itself.
        return grant_type == "client_credentials" or (
            grant_type == JWT_BEARER and (self.row.jwks is not None or self.via_idp))

    def key_set(self) -> KeySet:
        return KeySet.import_key_set(self.row.jwks)


class StarletteOAuth2Request(OAuth2Request):
    def __init__(self, method: str, uri: str, form: Mapping[str, str], headers: Mapping[str, str]) -> None:
        super().__init__(method, uri, headers=headers)  # Starlette's headers: case-insensitive
        self._form = dict(form)
        self.payload = BasicOAuth2Payload(self._form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


def _claims_registry(now: int, audiences: list[str], **essential: Any) -> jwt.JWTClaimsRegistry:
    options = {name: {"essential": True} for name in ("iss", "sub", "exp", "jti")}
    options["aud"] = {"essential": True, "values": audiences}
    options.update(essential)
    return jwt.JWTClaimsRegistry(now=now, leeway=CLOCK_LEEWAY, **options)


class _AssertionRules:
    """What both kinds of assertion must satisfy here: signed for us, short-lived, used once."""

    server: "GatewayAuthorizationServer"
    lifetime: dt.timedelta

    def check_assertion(self, claims: Mapping[str, Any], error: type[OAuth2Error], *,
                        replay_key: str | None = None) -> None:
        server = self.server
        now = int(server.tx.now.timestamp())
        try:
            _claims_registry(now, server.audiences).validate(claims)
        except JoseError as exc:
            server.refusal = {"exp": "assertion_expired", "nbf": "assertion_not_yet_valid",
                              "iat": "assertion_not_yet_valid",
                              "aud": "assertion_audience_invalid"}.get(getattr(exc, "claim", None),
                                                                       "assertion_claims_invalid")
            raise error(description=f"the assertion is not acceptable: {exc.description}") from None
        if not isinstance(claims["exp"], int) or claims["exp"] - now > self.lifetime.total_seconds() + CLOCK_LEEWAY:
            server.refusal = "assertion_lifetime_too_long"
            raise error(description=f"this assertion may live at most {int(self.lifetime.total_seconds() // 60)} "
                                    "minutes")
        iat = claims.get("iat")
        if iat is not None and (not isinstance(iat, int) or iat > now + CLOCK_LEEWAY):
            server.refusal = "assertion_not_yet_valid"
            raise error(description="the assertion was issued in the future")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
            server.refusal = "assertion_claims_invalid"
            raise error(description="the assertion's jti must be 8 to 200 characters")
        client_id = replay_key or claims["iss"]
        if oauth_service.assertion_used(server.tx.connection, client_id, jti):
            server.refusal = "assertion_replayed"
            raise error(description="this assertion (its jti) has been used before")
        oauth_service.queue_assertion_use(server.tx, client_id, jti, dt.datetime.fromtimestamp(claims["exp"], dt.UTC))


class PrivateKeyJWT(_AssertionRules, JWTBearerClientAssertion):
    """Client authentication with a signed assertion (RFC 7523 §2.2, OpenID's ``private_key_jwt``)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"
    lifetime = CLIENT_ASSERTION_LIFETIME

    def __init__(self, server: "GatewayAuthorizationServer") -> None:
        super().__init__(validate_jti=True, leeway=CLOCK_LEEWAY)
        self.server = server

    def __call__(self, query_client, request):
        try:
            return super().__call__(query_client, request)
        except InvalidClientError:
            self.server.refusal = self.server.refusal or "client_assertion_invalid"
            raise

    def get_audiences(self) -> list[str]:
        return self.server.audiences

    def resolve_client_public_key(self, client: PartnerClient) -> KeySet:
        if client.row.jwks is None:
            self.server.refusal = "client_auth_method_invalid"
            raise InvalidClientError(description="this client authenticates with a secret")
        return client.key_set()

    def verify_claims(self, claims) -> None:
        if claims.get("sub") != claims.get("iss"):
            self.server.refusal = "client_assertion_invalid"
            raise InvalidClientError(description="iss and sub must both be the client id")
        self.check_assertion(claims, InvalidClientError)


class SystemCredentialsGrant(ClientCredentialsGrant):
    """A token for the partner system itself."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: PartnerClient = self.request.client
        self.server.grant(self.request, Actor.system(client.client_id, client.party))


class StaffAssertionGrant(_AssertionRules, JWTBearerGrant):
    """A token for one of the system's party's staff members, on the system's signed assertion, or
    on an assertion of the party's own identity provider (then the system authenticates itself as
    at the token endpoint, and the provider's ``sub`` is the staff member's handle)."""

    lifetime = GRANT_ASSERTION_LIFETIME
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]
    _provider_client: "PartnerClient | None" = None

    def _provider_claims(self, assertion: str, party: str, provider) -> dict:
        server = self.server
        client = self.authenticate_token_endpoint_client()  # invalid_client (401) when it cannot
        if client.party != party:
            server.refusal = "idp_other_party"  # a party's provider names that party's staff only
            raise InvalidGrantError(description="this identity provider does not speak for this system's party")
        client.via_idp = True
        self._provider_client = client
        headers, _ = self.extract_assertion(assertion)
        try:
            keys = server.tx.runtime.idp_keys.get(provider.jwks_url, kid=headers.get("kid"))
        except KeysUnavailable:
            server.refusal = "idp_keys_unavailable"
            raise InvalidGrantError(description="the identity provider's keys could not be fetched") from None
        try:
            token = jwt.decode(assertion, keys, algorithms=PROVIDER_ALGORITHMS)
        except (JoseError, ValueError):
            server.refusal = "assertion_signature_invalid"
            raise InvalidGrantError(description="the assertion's signature does not verify") from None
        self.check_assertion(token.claims, InvalidGrantError, replay_key=f"idp:{party}"[:64])
        return token.claims

    def resolve_issuer_client(self, issuer: str) -> PartnerClient | None:
        if self._provider_client is not None:
            return self._provider_client
        return self.server.query_client(issuer)

    def resolve_client_public_key(self, client: PartnerClient) -> KeySet:
        if client.row.jwks is None:
            self.server.refusal = "client_auth_method_invalid"
            raise UnauthorizedClientError("only a system that registered its public keys may act for its staff")
        self.request.client = client
        return client.key_set()

    def get_audiences(self) -> list[str]:
        return self.server.audiences

    def verify_claims(self, claims) -> None:
        self.check_assertion(claims, InvalidGrantError)

    def process_assertion_claims(self, assertion: str):
        _, unverified = self.extract_assertion(assertion)
        provider = self.server.provider_for(unverified.get("iss"))
        if provider is not None:
            return self._provider_claims(assertion, *provider)
        try:
            return super().process_assertion_claims(assertion)
        except InvalidGrantError:
            self.server.refusal = self.server.refusal or "assertion_signature_invalid"
            raise

    def authenticate_user(self, subject: str) -> Staff | None:
        client: PartnerClient = self.request.client
        staff = self.server.find_staff(subject)
        if staff is None:
            self.server.refusal = "staff_unknown"
            return None
        if staff.party_id != client.party:
            self.server.refusal = "staff_other_party"  # a system acts for its own party's staff only
            return None
        return staff

    def has_granted_permission(self, client: PartnerClient, user: Staff) -> bool:
        return True  # the covenant's decision follows in ``grant``

    def validate_token_request(self) -> None:
        super().validate_token_request()
        staff: Staff | None = self.request.user
        if staff is None:  # an assertion without ``sub`` names nobody to act for
            self.server.refusal = "assertion_claims_invalid"
            raise InvalidGrantError(description="the assertion must name a staff member in sub")
        actor = Actor(subject=Subject(id=str(staff.id), party=staff.party_id, active=staff.active,
                                      roles=frozenset(Role(role) for role in staff.roles if role in STAFF_ROLES)),
                      source_system=self.request.client.client_id)
        self.server.grant(self.request, actor)


class OwnTokens:
    """Revocation and introspection: a system authenticates and may only touch its own tokens."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]
    server: "GatewayAuthorizationServer"

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenClaims | None:
        try:
            return self.server.tx.runtime.tokens.verify(token_string, self.server.tx.now)
        except InvalidToken:
            return None

    ACTION: Action

    def authenticate_endpoint_client(self, request):
        client = super().authenticate_endpoint_client(request)
        tx = self.server.tx
        tx.actor = Actor.system(client.client_id, client.party)
        tx._identified = True
        decision = tx.decide(self.ACTION, Resource(), purpose="")
        self.server.decision = decision
        if not decision.allowed:
            self.server.refusal = decision.reason.value
            raise InvalidClientError(description="this client may not use this endpoint")
        return client


class TokenRevocation(OwnTokens, RevocationEndpoint):
    ACTION = Action.TOKEN_REVOKE
    def authenticate_token(self, request, client):
        self.check_params(request, client)
        claims = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # RFC 7009 §2.2: an invalid token, or another client's, is answered 200 all the same.
        return claims if claims is not None and claims.client_id == client.client_id else None

    def revoke_token(self, token: TokenClaims, request) -> None:
        self.server.revoked = token


class TokenIntrospection(OwnTokens, IntrospectionEndpoint):
    ACTION = Action.TOKEN_INTROSPECT
    def authenticate_token(self, request, client):
        self.check_params(request, client)
        claims = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if claims is None or claims.client_id != client.client_id:
            return None
        if oauth_service.token_revoked(self.server.tx.connection, claims.token_id):
            return None
        return claims

    def create_introspection_payload(self, token: TokenClaims | None) -> dict[str, Any]:
        if token is None:
            return {"active": False}
        tokens = self.server.tx.runtime.tokens
        body = {"active": True, "scope": " ".join(sorted(token.scopes)), "client_id": token.client_id,
                "sub": token.subject, "exp": token.expires_at, "iss": tokens.issuer, "jti": token.token_id,
                "token_type": "Bearer"}
        if token.party:
            body["party"] = token.party
        return body


class GatewayAuthorizationServer(AuthorizationServer):
    def __init__(self, tx: Transaction, *, audiences: list[str]) -> None:
        super().__init__(scopes_supported=sorted(SCOPES))
        self.tx = tx
        self.audiences = audiences
        self.refusal: str | None = None
        self.granted: tuple[Actor, frozenset[str], Decision] | None = None
        self.issued: dict[str, Any] = {}
        self.revoked: TokenClaims | None = None
        self.decision: Decision | None = None
        self.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(self))
        self.register_grant(SystemCredentialsGrant)
        self.register_grant(StaffAssertionGrant)
        self.register_endpoint(TokenRevocation)
        self.register_endpoint(TokenIntrospection)
        self.register_token_generator("default", self._generate_token)

    # --- Authlib's integration points ----------------------------------------------------------------

    def query_client(self, client_id: str) -> PartnerClient | None:
        row = oauth_service.get_partner(self.tx.connection, client_id)
        if row is None:
            self.refusal = "client_unknown"
            return None
        if not row.active:
            self.refusal = "client_inactive"
            return None
        if row.party_id not in self.tx.covenant.parties:
            self.refusal = "party_unknown"
            return None
        if self.tx.actor is None:  # the trail names the system from here on
            self.tx.actor = Actor.system(row.client_id, row.party_id)
        return PartnerClient(row)

    def save_token(self, token: dict, request: OAuth2Request) -> None:
        """Access tokens are self-contained JWTs: nothing to store but the trail's event (in ``grant``)."""

    def send_signal(self, name: str, *args, **kwargs) -> None:
        pass

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> OAuthResponse:
        body = body if isinstance(body, dict) else {}
        if body.get("error") == "invalid_client":  # RFC 6749 §5.2: the client could not be authenticated
            status = 401
            headers = [*headers, ("WWW-Authenticate", 'Basic realm="covenant-gateway"')]
        return OAuthResponse(status, body, list(headers))

    # --- the gateway's part ------------------------------------------------------------------------------

    def provider_for(self, issuer: Any):
        """The party whose trusted identity provider is ``issuer``, and the provider; None if none is."""
        if not isinstance(issuer, str):
            return None
        for party, provider in self.tx.runtime.settings.trusted_idps.items():
            if provider.issuer == issuer and party in self.tx.covenant.parties:
                return party, provider
        return None

    def find_staff(self, subject: str) -> Staff | None:
        """A staff member by id or by handle (the name their own party's system knows them by)."""
        if not isinstance(subject, str) or not 0 < len(subject) <= 100:
            return None
        condition = Staff.handle == subject
        try:
            condition = or_(condition, Staff.id == uuid.UUID(subject))
        except ValueError:
            pass
        return self.tx.session.scalars(select(Staff).where(condition)).first()

    def grant(self, request: OAuth2Request, actor: Actor) -> None:
        """Decide whether ``actor`` gets a token with the requested scopes, and record it."""
        client: PartnerClient = request.client
        allowed = set(client.row.scopes) & set(SCOPES)
        requested = set(request.payload.scope.split()) if request.payload.scope else None
        if requested is not None and not requested <= allowed:
            self.refusal = "scope_not_registered"
            raise InvalidScopeError(description="the system is not registered for all the scopes asked for")
        roles = actor.subject.roles
        scopes = frozenset(requested if requested is not None else allowed & scopes_for(roles))
        self.tx.actor = Actor(subject=actor.subject._replace(scopes=scopes), source_system=client.client_id)
        self.tx._identified = True
        decision = self.tx.decide(Action.TOKEN_GRANT, Resource(), purpose="")
        if not decision.allowed:
            self.refusal = decision.reason.value
            if decision.reason.value == "scope_not_allowed":
                raise InvalidScopeError(description="the staff member's roles do not carry all the scopes asked for")
            raise InvalidGrantError(description="no token can be issued for this subject")
        self.granted = (self.tx.actor, scopes, decision)

    def _generate_token(self, grant_type, client, user=None, scope=None, expires_in=None,
                        include_refresh_token=False) -> dict[str, Any]:
        actor, scopes, _ = self.granted
        settings = self.tx.runtime.settings
        ttl = settings.oauth_token_ttl_seconds
        token_id = uuid.uuid4().hex
        access_token = self.tx.runtime.tokens.mint(
            subject=actor.subject.id, scopes=scopes, client_id=client.client_id, party=actor.subject.party,
            now=self.tx.now, ttl_seconds=ttl, token_id=token_id)
        self.issued = {"grant_type": grant_type, "token_id": token_id, "scopes": sorted(scopes), "ttl_seconds": ttl}
        if getattr(client, "via_idp", False):
            self.issued["assertion_by"] = "party_identity_provider"
        return {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl,
                "scope": " ".join(sorted(scopes))}


# --- the three endpoints, each one unit of work with its event ------------------------------------------

def _failure(server: GatewayAuthorizationServer, response: OAuthResponse) -> str:
    return server.refusal or str(response.body.get("error", "invalid_request"))


def token_response(tx: Transaction, request: StarletteOAuth2Request, *, audiences: list[str]) -> OAuthResponse:
    """RFC 6749 §3.2: issue a token, or say why not; the attempt is recorded either way."""
    server = GatewayAuthorizationServer(tx, audiences=audiences)
    response = server.create_token_response(request)
    grant_type = request.payload.grant_type if request.payload.grant_type in GRANT_TYPES else "other"
    if response.status == 200 and server.granted is not None:
        _, scopes, decision = server.granted
        tx.record(AuditAction.TOKEN_GRANT, outcome=Outcome.PERMIT, reason=decision.reason.value,
                  authority=decision.authority, object_type="token", object_id=server.issued["token_id"],
                  detail=server.issued)
    else:
        tx.record(AuditAction.TOKEN_GRANT, outcome=Outcome.DENY, reason=_failure(server, response),
                  object_type="token", detail={"grant_type": grant_type, "error": response.body.get("error")})
    return response


def revocation_response(tx: Transaction, request: StarletteOAuth2Request, *, audiences: list[str]) -> OAuthResponse:
    """RFC 7009: revoke one of the calling system's tokens; from the next request on it is refused."""
    server = GatewayAuthorizationServer(tx, audiences=audiences)
    response = server.create_endpoint_response(TokenRevocation.ENDPOINT_NAME, request)
    revoked = server.revoked
    if response.status == 200:
        if revoked is not None:
            oauth_service.queue_revocation(tx, token_id=revoked.token_id, client_id=revoked.client_id,
                                           expires_at=dt.datetime.fromtimestamp(revoked.expires_at, dt.UTC))
        tx.record(AuditAction.TOKEN_REVOKE, outcome=Outcome.PERMIT,
                  reason="revoked" if revoked is not None else "not_this_clients_token",
                  authority=server.decision.authority if server.decision else None, object_type="token",
                  object_id=revoked.token_id if revoked is not None else None)
    else:
        tx.record(AuditAction.TOKEN_REVOKE, outcome=Outcome.DENY, reason=_failure(server, response),
                  object_type="token")
    return response


def introspection_response(tx: Transaction, request: StarletteOAuth2Request, *,
                           audiences: list[str]) -> OAuthResponse:
    """RFC 7662: whether one of the calling system's tokens is active, and its claims if so."""
    server = GatewayAuthorizationServer(tx, audiences=audiences)
    response = server.create_endpoint_response(TokenIntrospection.ENDPOINT_NAME, request)
    if response.status == 200:
        tx.record(AuditAction.TOKEN_INTROSPECT, outcome=Outcome.PERMIT,
                  reason="active" if response.body.get("active") else "inactive",
                  authority=server.decision.authority if server.decision else None, object_type="token",
                  object_id=response.body.get("jti"))
    else:
        tx.record(AuditAction.TOKEN_INTROSPECT, outcome=Outcome.DENY, reason=_failure(server, response),
                  object_type="token")
    return response
