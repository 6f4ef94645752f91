"""A party's OpenID Connect provider, stood in for on loopback: discovery, an authorization endpoint
that signs the browser in as ``subject`` and sends it back with a code (at once, or, ``login_page``,
from a page of its own with a link to follow, as a real provider's sign-in page would), a token endpoint
(client_secret_basic, PKCE S256, single-use codes) that answers an RS256-signed ID token, and the key set.

``misbehave`` bends one thing of the next ID tokens, for the tests of what the gateway must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from typing import Any, Callable
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import LoopbackServer

CLIENT_ID = "covenant-gateway-ui"
CLIENT_SECRET = "loopback-provider-secret"
_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-2026", "use": "sig", "alg": "RS256"})


class StandInProvider:
    def __init__(self, clock: Callable[[], Any], *, subject: str, host: str = "127.0.0.1",
                 login_page: bool = False) -> None:
        self.clock = clock
        self.login_page = login_page
        self.subject = subject
        self.host = host
        self.key = _KEY
        self.misbehave: dict[str, Any] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.token_requests = 0
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
            Route("/jwks", lambda request: JSONResponse({"keys": [self.key.as_dict(private=False)]})),
        ])

    def __enter__(self) -> "StandInProvider":
        self._server = LoopbackServer(self.app).__enter__()
        self.issuer = self._server.url.replace("127.0.0.1", self.host)
        return self

    def __exit__(self, *exc) -> None:
        self._server.__exit__(*exc)

    def discovery(self, request: Request) -> Response:
        return JSONResponse({"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                             "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                             "response_types_supported": ["code"], "subject_types_supported": ["public"],
                             "id_token_signing_alg_values_supported": ["RS256"],
                             "code_challenge_methods_supported": ["S256"]})

    def authorize(self, request: Request) -> Response:
        query = request.query_params
        if (query.get("client_id") != CLIENT_ID or query.get("response_type") != "code"
                or query.get("code_challenge_method") != "S256" or "openid" not in query.get("scope", "").split()):
            return PlainTextResponse("bad authorization request", status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": query["nonce"], "challenge": query["code_challenge"],
                            "redirect_uri": query["redirect_uri"]}
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        if self.login_page:
            return HTMLResponse(f'<!doctype html><title>Provider</title><h1>Provider</h1>'
                                f'<a href="{html.escape(back)}">Continue as {html.escape(self.subject)}</a>')
        return RedirectResponse(back, status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self.codes.pop(form.get("code", ""), None)  # a code is good once
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (grant is None or form.get("grant_type") != "authorization_code" or challenge != grant["challenge"]
                or form.get("redirect_uri") != grant["redirect_uri"]):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                             "id_token": self.id_token(nonce=grant["nonce"])})

    def id_token(self, *, nonce: str) -> str:
        now = int(self.clock().timestamp())
        claims = {"iss": self.issuer, "sub": self.subject, "aud": CLIENT_ID, "nonce": nonce, "iat": now,
                  "exp": now + 300, "auth_time": now}
        claims.update(self.misbehave.get("claims", {}))
        key = self.misbehave.get("key", self.key)
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)
