"""Problem documents (RFC 9457): an error's extension members stand beside the standard members and
can never replace them, so a client always reads the HTTP status from ``status``."""

from __future__ import annotations

import pytest

from gateway.errors import Conflict, NotFound


def test_extension_members_sit_beside_the_standard_ones() -> None:
    problem = Conflict("a correction request that is closed cannot be withdrawn",
                       extra={"request_status": "closed", "kind": "correction"}).problem("0" * 32)
    assert (problem["status"], problem["request_status"], problem["kind"]) == (409, "closed", "correction")
    assert problem["type"].endswith("/conflict") and problem["instance"] == "urn:uuid:" + "0" * 32


@pytest.mark.parametrize("member", ["type", "title", "status", "detail", "instance"])
def test_an_extension_member_may_not_replace_a_standard_one(member: str) -> None:
    with pytest.raises(ValueError, match=member):
        NotFound("no such thing", extra={member: "overwritten"})
