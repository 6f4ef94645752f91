"""Lists are JSON arrays; the next page is linked from the ``Link`` header (RFC 8288).

A cursor names the last item of a page by its moment and id (keyset pagination), so a page does not
shift when rows are added meanwhile; it is opaque to clients and checked when it comes back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid

from fastapi import Request

from gateway.errors import BadRequest


def next_link(request: Request, **params: str | int) -> str:
    url = request.url.remove_query_params(list(params)).include_query_params(**params)
    return f'<{url.path}?{url.query}>; rel="next"'


def encode_cursor(moment: dt.datetime, item_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{item_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The moment and id a cursor names; 400 for one this gateway did not give out."""
    try:
        moment, item_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        after = dt.datetime.fromisoformat(moment), uuid.UUID(item_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        after = None
    if after is None or after[0].tzinfo is None:
        raise BadRequest("the cursor is not one this gateway gave out")
    return after
