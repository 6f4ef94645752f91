"""The web UI's sessions: a signed cookie, a per-session CSRF token, an idle and an absolute timeout.

The cookie holds no personal data: a random session id, the staff member's id (an opaque UUID),
the CSRF token and two moments. It is signed (itsdangerous, HMAC-SHA256 with a key of the key folder),
not encrypted: nothing in it is secret from its holder except that it cannot be forged. It is
HttpOnly and SameSite=Strict always, and Secure (with the ``__Host-`` prefix) outside demo mode, where
the gateway is served over https (ASVS 7.1, 7.3, 3.3).
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from gateway.vault import ensure_private_folder, write_secret

_KEY_FILE = "ui-session.key"
ABSOLUTE_LIFETIME = dt.timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class UiSession:
    """One browser's session; ``staff_id`` None before sign-in (the CSRF token of the sign-in form)."""

    sid: str
    csrf: str
    started_at: dt.datetime
    seen_at: dt.datetime
    staff_id: str | None = None

    @classmethod
    def anonymous(cls, now: dt.datetime) -> "UiSession":
        return cls(sid=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(32), started_at=now, seen_at=now)

    def signed_in(self, staff_id: str, now: dt.datetime) -> "UiSession":
        """A new session id and CSRF token at sign-in, so that nothing known before carries over
        (session fixation, ASVS 7.2.4)."""
        return UiSession(sid=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(32), started_at=now,
                         seen_at=now, staff_id=staff_id)

    def touched(self, now: dt.datetime) -> "UiSession":
        return replace(self, seen_at=now)

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), token.encode())


class SessionCodec:
    """Reads and writes the session cookie."""

    def __init__(self, folder: Path, *, secure: bool, idle: dt.timedelta, name: str = "gateway-ui") -> None:
        path = folder / _KEY_FILE
        if not path.exists():
            ensure_private_folder(folder)
            try:
                write_secret(path, base64.b64encode(secrets.token_bytes(32)))
            except FileExistsError:  # another instance made it first
                pass
        self._key = base64.b64decode(path.read_bytes())
        self._serializer = self.serializer("gateway.ui.session")
        self.secure = secure
        self.idle = idle
        self.cookie_name = f"__Host-{name}" if secure else name

    def serializer(self, salt: str) -> URLSafeSerializer:
        """A signer with the session key for another of the UI's cookies; the salt keeps each cookie's
        signatures apart (a sign-in's flow cookie cannot pass for a session)."""
        return URLSafeSerializer(self._key, salt=salt)

    def read(self, request: Request, now: dt.datetime) -> tuple[UiSession | None, str]:
        """The request's session, or None and why not: ``session_missing``, ``session_invalid``,
        ``session_expired`` (idle longer than the idle timeout, or older than eight hours)."""
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return None, "session_missing"
        try:
            data = self._serializer.loads(raw)
            session = UiSession(sid=data["sid"], csrf=data["csrf"], staff_id=data["staff"],
                                started_at=dt.datetime.fromtimestamp(data["start"], dt.UTC),
                                seen_at=dt.datetime.fromtimestamp(data["seen"], dt.UTC))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None, "session_invalid"
        if now - session.seen_at > self.idle or now - session.started_at > ABSOLUTE_LIFETIME:
            return None, "session_expired"
        return session, "session_valid"

    def attach(self, response: Response, session: UiSession) -> Response:
        value = self._serializer.dumps({"sid": session.sid, "csrf": session.csrf, "staff": session.staff_id,
                                        "start": session.started_at.timestamp(), "seen": session.seen_at.timestamp()})
        response.set_cookie(self.cookie_name, value, path="/", httponly=True, samesite="strict",
                            secure=self.secure, max_age=int(self.idle.total_seconds()))
        return response

    def clear(self, response: Response) -> Response:
        response.delete_cookie(self.cookie_name, path="/", httponly=True, samesite="strict", secure=self.secure)
        return response
