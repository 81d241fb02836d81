"""The management API documents itself: every `/api/v1` operation has a tag, a summary, a response
model and the plain error body."""

from __future__ import annotations

from tests.integration.account_service._api import Api


def test_every_management_operation_is_documented(api: Api):
    spec = api.client.get("/openapi.json").json()
    operations = [
        (method, path, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1")
        for method, op in item.items()
    ]
    assert len(operations) >= 24
    for method, path, op in operations:
        assert op.get("tags") and op.get("summary"), (method, path)
        assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
        success = next(code for code in op["responses"] if code.startswith("2"))
        if success != "204":
            schema = next(iter(op["responses"][success]["content"].values()))["schema"]
            assert schema != {"type": "string"} or path.endswith("/dreamina/export"), (method, path)
    assert "PoolGate API key" in spec["components"]["securitySchemes"]
    secret_free = spec["components"]["schemas"]["ApiKey"]["properties"]
    assert "key_hash" not in secret_free and "key" not in secret_free
