"""Schemathesis against the gateway's own OpenAPI document, over loopback, with valid tokens.

Bounded (a dozen examples per operation, no deadline): it looks for 5xx answers and for answers that
break the document (status codes, content types, headers and bodies it does not describe), on both
engines. The document is the app's own, generated here the way the server generates it; a test
checks that the running server serves the same one.
"""

from __future__ import annotations

from types import SimpleNamespace

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import policies
from covenant import load_covenant
from gateway.config import Settings
from gateway.main import create_app
from tests.gateway.helpers import token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _document() -> dict:
    # Generating the document needs the covenant's purposes and the public URL, not a database.
    offline = SimpleNamespace(covenant=load_covenant(policies.DEMO_REGION), settings=Settings(_env_file=None))
    return create_app(offline).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_server_serves_the_document_under_test(http, runtime):
    served = http.get("/openapi.json").json()
    assert served["paths"] == DOCUMENT["paths"]
    assert set(served["components"]["schemas"]) == set(DOCUMENT["components"]["schemas"])


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_the_api_keeps_to_its_own_document(case, server, runtime, demo):
    # A field director's token carries the most scopes a staff member has (records, team).
    bearer = token(runtime, demo.staff["field_director"])
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {bearer}"}, checks=CHECKS)
