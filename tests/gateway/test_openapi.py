"""The OpenAPI document is the inventory of the API (OWASP API9): every route, its security, its errors."""

from tests.gateway.helpers import PUBLIC


def test_every_v1_operation_documents_its_security_and_problems(http):
    document = http.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [(path, method, op) for path, ops in document["paths"].items() if path.startswith("/v1/")
                  for method, op in ops.items()]
    assert {(path, method) for path, method, _ in operations} >= {
        ("/v1/clients/{client_id}/entries", "get"), ("/v1/clients/{client_id}/entries", "post"),
        ("/v1/clients/{client_id}/entries/{entry_id}", "get"), ("/v1/audit/events", "get"),
        ("/v1/clients", "get"), ("/v1/clients", "post"), ("/v1/clients/{client_id}", "get"),
        ("/v1/clients/{client_id}/team", "get"), ("/v1/clients/{client_id}/team", "post"),
        ("/v1/clients/{client_id}/team/{link_id}", "get"), ("/v1/clients/{client_id}/team/{link_id}/end", "post"),
        ("/v1/clients/{client_id}/emergency-access", "post"), ("/v1/audit/emergency-accesses", "get"),
        ("/v1/audit/emergency-accesses/{access_id}/review", "post")}
    assert PUBLIC <= {(path, method) for path, method, _ in operations}
    for path, method, op in operations:
        if (path, method) in PUBLIC:
            assert "security" not in op, (path, method)
            continue
        assert op["security"] == [{"HTTPBearer": []}], (path, method)
        assert {"400", "401", "403", "422", "503"} <= set(op["responses"]), (path, method)
        problem = op["responses"]["403"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}
        assert any(p["name"] == "X-Purpose" for p in op["parameters"]), (path, method)
        if "{client_id}" in path:  # where a client may be unknown, the register's keepers hear so
            assert "404" in op["responses"], (path, method)
        if method == "post":
            assert "409" in op["responses"], (path, method)
