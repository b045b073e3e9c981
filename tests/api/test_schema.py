"""The OpenAPI schema documents the identify and events endpoints accurately and validates."""
import io

import pytest
import yaml
from django.core.management import call_command

PATHS = {
    "/api/v1/identify": ("identify", "200"),
    "/api/v1/events": ("events_ingest", "202"),
    "/api/v1/server/identify": ("server_identify", "200"),
    "/api/v1/server/events": ("server_events_ingest", "202"),
}


@pytest.fixture(scope="module")
def schema():
    out = io.StringIO()
    # --validate checks the document against the OpenAPI 3 JSON schema; --fail-on-warn turns any
    # generator warning (an undocumented view, an unresolvable type) into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_schema__served_at_api_schema__200(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/events" in response.content


@pytest.mark.parametrize("path", sorted(PATHS), ids=lambda path: path.rsplit("/", 2)[-2] + "-" + path.rsplit("/", 1)[-1])
def test_schema__endpoint__documented_with_bodies_and_errors(schema, path):
    operation_id, success = PATHS[path]
    operation = schema["paths"][path]["post"]
    assert operation["operationId"] == operation_id
    assert "application/json" in operation["requestBody"]["content"]
    assert set(operation["responses"]) >= {success, "400", "401", "413", "415", "429"}


def test_schema__security_schemes__header_query_and_bearer(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["publishableKeyHeader"] == {
        "type": "apiKey", "in": "header", "name": "X-Wayline-Key", "description": schemes["publishableKeyHeader"]["description"]
    }
    assert schemes["publishableKeyQuery"]["in"] == "query" and schemes["publishableKeyQuery"]["name"] == "key"
    assert schemes["secretKey"]["type"] == "http" and schemes["secretKey"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/events"]["post"]["security"] == [{"publishableKeyHeader": []}, {"publishableKeyQuery": []}]
    assert schema["paths"]["/api/v1/server/events"]["post"]["security"] == [{"secretKey": []}]


def test_schema__beacon_body__text_plain_documented_on_public_events(schema):
    assert "text/plain" in schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]
    assert "text/plain" not in schema["paths"]["/api/v1/server/events"]["post"]["requestBody"]["content"]


def test_schema__event_fields__match_contract(schema):
    event = schema["components"]["schemas"]["Event"]
    assert set(event["properties"]) == {
        "id", "name", "user_id", "anonymous_id", "user_hash", "timestamp", "properties", "url", "session_id"
    }
    assert event["required"] == ["id", "name"]
    response = schema["components"]["schemas"]["EventsResponse"]
    assert set(response["properties"]) == {"accepted", "duplicates", "rejected"}
