"""Lists are JSON arrays; the next page is linked from the ``Link`` header (RFC 8288)."""

from __future__ import annotations

from fastapi import Request


def next_link(request: Request, **params: str | int) -> str:
    url = request.url.remove_query_params(list(params)).include_query_params(**params)
    return f'<{url.path}?{url.query}>; rel="next"'
