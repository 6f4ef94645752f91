"""W3C Trace Context (level 1): a partner's ``traceparent``, kept on the audit events of its request.

A partner system that sends ``traceparent: 00-<trace-id>-<parent-id>-<flags>`` finds the same
value on every event the gateway recorded for that request, so the partner's log and the gateway's
trail can be joined by trace id. The header is advice, never a condition: an absent or malformed
one means no trace is kept, not an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Trace Context level 1, section 3.2: lowercase hex only; version ff is invalid.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
LENGTH = 55  # the version-00 form; a later version may append fields after it


@dataclass(frozen=True, slots=True)
class TraceParent:
    value: str
    trace_id: str
    parent_id: str


def parse_traceparent(headers: list[str]) -> TraceParent | None:
    """The trace context of a request whose ``traceparent`` headers are ``headers``, or ``None``.

    Section 3.2.2: version 00 is exactly 55 characters; a higher version is read as version 00 when
    its first 55 characters are (and anything after them starts a new field with ``-``); the all-zero
    trace id and parent id are invalid. Section 3.2: more than one ``traceparent`` is invalid.
    """
    if len(headers) != 1:
        return None
    header = headers[0].strip(" \t")
    match = _TRACEPARENT.fullmatch(header[:LENGTH])
    if match is None:
        return None
    version, trace_id, parent_id, _flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    if version == "00" and len(header) != LENGTH:
        return None
    if len(header) > LENGTH and header[LENGTH] != "-":
        return None
    return TraceParent(value=header[:LENGTH], trace_id=trace_id, parent_id=parent_id)
