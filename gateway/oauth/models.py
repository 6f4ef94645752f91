"""The authorization server's tables: partner systems, assertions seen, tokens revoked.

Access tokens themselves are not stored: they are signed JWTs that carry their own claims. What
must be shared by every gateway instance is stored here: which systems may ask for tokens (and
how they prove who they are), which assertion ids have been used (RFC 7523 §3 item 7: a ``jti``
is not accepted twice), and which tokens were revoked before they expired (RFC 7009).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class PartnerSystem(Base):
    """A party's system registered as an OAuth client; it belongs to exactly one covenant party.

    ``jwks`` holds the system's public keys (``private_key_jwt``, and assertions naming a staff
    member); ``secret_hash`` the SHA-256 of a generated high-entropy secret for systems that cannot
    sign (``client_secret_basic``). ``scopes`` bounds what its tokens may carry; the staff member's
    roles bound it further.
    """

    __tablename__ = "partner_system"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("party.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    auth_method: Mapped[str] = mapped_column(String(32))
    jwks: Mapped[dict | None] = mapped_column(JSON)
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class UsedAssertion(Base):
    """An assertion id a system has used; kept until the assertion would have expired anyway."""

    __tablename__ = "oauth_used_assertion"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "expires_at"),)


class RevokedToken(Base):
    """An access token revoked before its end; kept until it would have expired anyway."""

    __tablename__ = "oauth_revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "expires_at"),)
