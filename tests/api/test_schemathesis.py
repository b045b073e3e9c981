"""Every public API operation, fed by schemathesis from /api/schema/: no 5xx, answers as documented.

The schema is fetched from the WSGI app itself; each operation gets ``MAX_EXAMPLES`` generated
requests that follow the schema and as many that break it (wrong types, missing fields, bad
query strings), sent in-process with the operation's kind of key. Checked: no 5xx, the status
code is documented, and the content type and body match the documented response.
``bench/fuzz.py --api-examples N`` runs the same with N examples.
"""
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_application, make_known_user
from tests.security.fuzzing import API_SCALE_VARIABLE, Tally, examples, fuzz_settings

MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The staff-only endpoints (reports, experiment results) answer logged-in admin users, not keys.
PUBLIC_PATHS = r"^/api/v1/(?!reports/|experiments/)"


@pytest.fixture
def wsgi_app(db):
    # The WSGI handler closes the database connection after each request; the test's transaction
    # lives on that connection, so keep it open as Django's own test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def api_headers(application, path: str) -> dict:
    if path.startswith("/api/v1/server/"):
        return {"Authorization": f"Bearer {application.secret_key}"}
    return {"X-Wayline-Key": application.publishable_key}


def failure_summary(error: BaseException) -> str:
    """The kinds of failure, without the generated input (so equal failures count as one)."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(sorted({failure_summary(inner) for inner in error.exceptions}))
    return f"{type(error).__name__}: {getattr(error, 'title', None) or str(error).strip()[:200]}"


def schemathesis_run(app, application, max_examples: int) -> Tally:
    """Run every public operation in both generation modes; the tally of requests and failures."""
    tally = Tally("schemathesis: public API")
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app).include(path_regex=PUBLIC_PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        headers = api_headers(application, operation.path)
        for mode in GenerationMode:

            @fuzz_settings(max_examples)
            @given(operation.as_strategy(generation_mode=mode))
            def run(case):
                tally.tried += 1
                try:
                    response = case.call_and_validate(headers=headers, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as error:  # schemathesis raises a FailureGroup
                    tally.fail(f"{operation.label} [{mode.value}]: {failure_summary(error)}")
                else:
                    tally.by_outcome[response.status_code] += 1

            run()
    tally.subjects = [operation.label for operation in operations]
    return tally


def test_public_api__schemathesis_cases__no_server_error_and_schema_conformant(wsgi_app):
    application = make_application("Fuzzed")
    make_known_user(application, "user-1")
    tally = schemathesis_run(wsgi_app, application, examples(MAX_EXAMPLES, API_SCALE_VARIABLE))
    tally.record()
    assert set(tally.subjects) >= {
        "GET /api/v1/content", "POST /api/v1/events", "POST /api/v1/identify", "POST /api/v1/server/events",
        "POST /api/v1/server/identify", "POST /api/v1/server/users/erase", "GET /api/v1/server/users/export",
    }
    assert tally.tried >= len(tally.subjects) * 2
    assert not tally.failures, "\n".join(f"{count}× {failure}" for failure, count in tally.failures.items())
