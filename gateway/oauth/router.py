"""HTTP routes of the authorization server: token, revocation, introspection, keys and metadata.

Errors here keep the OAuth 2 shape (RFC 6749 §5.2: ``{"error", "error_description"}``), which every
OAuth client library understands; the API's own routes answer problem+json.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from starlette._utils import get_route_path

from audit import AuditAction, Outcome
from covenant.scopes import SCOPES
from gateway.deps import request_transaction
from gateway.errors import AuditUnavailableError
from gateway.oauth.server import (
    GRANT_TYPES,
    OAuthResponse,
    StarletteOAuth2Request,
    introspection_response,
    revocation_response,
    token_response,
)
from gateway.oauth.service import AUTH_METHODS, CLIENT_ID
from gateway.ratelimit import TooManyRequests

router = APIRouter(tags=["oauth"])

MAX_FORM = 16_384
_FORM = "application/x-www-form-urlencoded"
_ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {
    "error": {"type": "string", "description": "RFC 6749 §5.2 error code"},
    "error_description": {"type": "string"}}}
_OAUTH_ERRORS = {
    "400": {"description": "RFC 6749 §5.2 error (invalid_request, invalid_grant, invalid_scope, ...)",
            "content": {"application/json": {"schema": _ERROR_SCHEMA}}},
    "401": {"description": "The client could not be authenticated (invalid_client)",
            "content": {"application/json": {"schema": _ERROR_SCHEMA}}},
    "429": {"description": "Too many requests from this client; see Retry-After",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
}


def _form_body(*properties: tuple[str, str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {_FORM: {"schema": {
        "type": "object", "required": list(required),
        "properties": {name: {"type": "string", "description": description} for name, description in properties}}}}}}


_CLIENT_AUTH_FIELDS = (
    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer (private_key_jwt)"),
    ("client_assertion", "A JWT signed with the system's registered key: iss = sub = client id, aud = the "
                         "token endpoint URL or the issuer, exp at most 5 minutes ahead, a fresh jti"),
)


def _answer(response: OAuthResponse) -> JSONResponse:
    headers = {name: value for name, value in response.headers if name.lower() != "content-type"}
    headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    headers["Pragma"] = "no-cache"
    return JSONResponse(response.body, status_code=response.status, headers=headers)


def _error(status: int, error: str, description: str) -> JSONResponse:
    return _answer(OAuthResponse(status, {"error": error, "error_description": description}, []))


async def _read_form(request: Request) -> dict[str, str] | str:
    """The form, or why it is not one: RFC 6749 §3.2 wants urlencoded, each parameter at most once."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        return f"send the parameters as {_FORM}"
    body = await request.body()
    if len(body) > MAX_FORM:
        return "the request body is too large"
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return "the request body is not a valid form"
    form = dict(pairs)
    if len(form) != len(pairs):
        return "a parameter appears more than once"
    return form


def _presented_client(form: dict[str, str], headers) -> str:
    """Which client the request says it is, before anything is verified: what its attempts are counted
    under. Only an id of the registry's shape counts; anything else is counted together."""
    candidates = []
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            candidates.append(base64.b64decode(authorization[6:], validate=True).decode().split(":", 1)[0])
        except (ValueError, UnicodeDecodeError):
            pass
    for field, claim in (("client_assertion", "sub"), ("assertion", "iss")):
        if form.get(field):
            try:
                candidates.append(json.loads(jws.extract_compact(form[field].encode()).payload).get(claim))
            except (JoseError, ValueError, AttributeError):
                pass
    candidates.append(form.get("client_id"))
    return next((value for value in candidates if isinstance(value, str) and CLIENT_ID.match(value)), "unidentified")


async def _endpoint(request: Request, flow: Callable[..., OAuthResponse], audit_action: AuditAction) -> JSONResponse:
    runtime = request.app.state.runtime
    tx = request_transaction(request)
    form = await _read_form(request)
    if isinstance(form, str):
        tx.record(audit_action, outcome=Outcome.DENY, reason="request_invalid")
        await tx.commit_async()
        return _error(400, "invalid_request", form)
    settings = runtime.settings
    presented = _presented_client(form, request.headers)
    try:  # so that nobody can try assertions or secrets at speed (ASVS 6.3.1)
        await runtime.rate_limiter.check_async(f"token:{presented}", rate=settings.token_rate_limit)
    except TooManyRequests:
        tx.record(audit_action, outcome=Outcome.DENY, reason="rate_limited", detail={"client_id": presented})
        await tx.commit_async()
        raise
    oauth_request = StarletteOAuth2Request(request.method, settings.public_url + get_route_path(request.scope), form,
                                           request.headers)
    audiences = [settings.issuer, settings.public_url + "/oauth/token"]
    try:
        response = await run_in_threadpool(flow, tx, oauth_request, audiences=audiences)
    finally:
        tx.end_reads()
    try:
        await tx.commit_async()
    except IntegrityError:
        # Two requests with the same assertion at the same moment: the other one won.
        tx = request_transaction(request)
        tx.record(audit_action, outcome=Outcome.DENY, reason="assertion_replayed")
        await tx.commit_async()
        return _error(400, "invalid_grant", "this assertion (its jti) has been used before")
    except AuditUnavailableError:
        raise
    return _answer(response)


@router.post("/oauth/token", summary="Issue an access token (RFC 6749, RFC 7523)", responses={
    200: {"description": "An access token (a JWT, RFC 9068) and its lifetime", "content": {"application/json": {
        "schema": {"type": "object", "required": ["access_token", "token_type", "expires_in"], "properties": {
            "access_token": {"type": "string"}, "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer"}, "scope": {"type": "string"}}}}}},
    **_OAUTH_ERRORS}, openapi_extra=_form_body(
    ("grant_type", f"One of: {', '.join(GRANT_TYPES)}"),
    ("assertion", "For the JWT-bearer grant: a JWT signed with the system's key, iss = client id, sub = the "
                  "staff member's id or handle, aud = the token endpoint URL or the issuer, exp at most 5 "
                  "minutes ahead, a fresh jti"),
    ("scope", f"Space-separated; of: {', '.join(sorted(SCOPES))}. Default: all the subject may carry"),
    *_CLIENT_AUTH_FIELDS, required=("grant_type",)))
async def issue_token(request: Request) -> JSONResponse:
    """Issue a short-lived access token to a registered partner system, for itself
    (`client_credentials`) or for one of its party's staff members (JWT-bearer grant)."""
    return await _endpoint(request, token_response, AuditAction.TOKEN_GRANT)


@router.post("/oauth/revoke", summary="Revoke an access token (RFC 7009)", responses={
    200: {"description": "Revoked, or it was not this client's token to revoke (RFC 7009 §2.2)",
          "content": {"application/json": {"schema": {"type": "object"}}}}, **_OAUTH_ERRORS},
    openapi_extra=_form_body(("token", "The access token"), ("token_type_hint", "access_token"),
                             *_CLIENT_AUTH_FIELDS, required=("token",)))
async def revoke_token(request: Request) -> JSONResponse:
    """Revoke one of the calling system's tokens; it is refused from the next request on."""
    return await _endpoint(request, revocation_response, AuditAction.TOKEN_REVOKE)


@router.post("/oauth/introspect", summary="Introspect an access token (RFC 7662)", responses={
    200: {"description": "Whether the token is active, and its claims if so", "content": {"application/json": {
        "schema": {"type": "object", "required": ["active"], "properties": {
            "active": {"type": "boolean"}, "scope": {"type": "string"}, "client_id": {"type": "string"},
            "sub": {"type": "string"}, "exp": {"type": "integer"}, "iss": {"type": "string"},
            "jti": {"type": "string"}, "token_type": {"type": "string"}, "party": {"type": "string"}}}}}},
    **_OAUTH_ERRORS}, openapi_extra=_form_body(("token", "The access token"),
                                               ("token_type_hint", "access_token"), *_CLIENT_AUTH_FIELDS,
                                               required=("token",)))
async def introspect_token(request: Request) -> JSONResponse:
    """Whether one of the calling system's tokens is active (not expired, not revoked)."""
    return await _endpoint(request, introspection_response, AuditAction.TOKEN_INTROSPECT)


@router.get("/.well-known/jwks.json", summary="The gateway's token-signing keys (RFC 7517)", responses={
    200: {"description": "A JSON Web Key Set", "content": {"application/json": {"schema": {"type": "object"}}}}})
def jwks(request: Request) -> JSONResponse:
    """The public keys that verify the gateway's access tokens now, including recently retired
    ones. Public; touches no personal data, so not audited."""
    runtime = request.app.state.runtime
    return JSONResponse(runtime.tokens.ring.public_jwks(runtime.clock()),
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)",
            responses={200: {"description": "RFC 8414 metadata",
                             "content": {"application/json": {"schema": {"type": "object"}}}}})
def metadata(request: Request) -> JSONResponse:
    """Where the endpoints are and what they support. Public; not audited."""
    settings = request.app.state.runtime.settings
    base = settings.public_url
    return JSONResponse({
        "issuer": settings.issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": [],
        "service_documentation": f"{base}/docs",
    }, headers={"Cache-Control": "public, max-age=300"})
