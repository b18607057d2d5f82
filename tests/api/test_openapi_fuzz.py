"""The OpenAPI document validates, and a fuzzer (schemathesis) drives every operation it
documents against the live test server (gunicorn) as a patient, a specialist, an admin and ops: no
answer is a 500, and every documented answer matches its schema. The spec's two functions are in
the document, so they are fuzzed with the rest.

Generated from the document, so a new endpoint is fuzzed without new code. Budget: FUZZ_EXAMPLES
cases per operation and role (default 8; raise it locally for a longer hunt). schemathesis 4's
pytest loader does not run under pytest 9 here, so this drives its Python API from a plain test."""
from __future__ import annotations

import os
from datetime import date, time

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error, response_schema_conformance

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from tests.conftest import DEFAULT_PASSWORD

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
ROLES = ("patient", "specialist", "admin", "ops")


def test_the_openapi_document_validates(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)  # raises, naming the first problem
    price = document["components"]["schemas"]["Rate"]["properties"]["price"]
    assert price["type"] == "string" and "maximum" not in price  # it was maximum: "99999999.00"


def _committed_tokens() -> dict[str, str]:
    """A patient, a specialist with hours and a rate, an admin, an ops user; a token each."""
    from portal.services.users import api_token_create, user_create

    tokens = {}
    for role in ROLES:
        user = user_create(email=f"fuzz-{role}@example.test", password=DEFAULT_PASSWORD, role=role)
        if role == "specialist":
            for weekday in range(5):
                db.session.add(WorkingHours(specialist_id=user.id, weekday=weekday, start_time=time(9),
                                            end_time=time(17)))
            db.session.add(SpecialistRate(specialist_id=user.id, duration_minutes=60, price=100, currency="USD",
                                          effective_from=date(2000, 1, 1)))
        tokens[role] = api_token_create(user=user, name="fuzz")
    db.session.commit()
    return tokens


def _fuzz_operation(operation, base_url: str, headers: dict, session: requests.Session) -> str | None:
    """The first failure of `operation` in FUZZ_EXAMPLES generated cases, or None."""
    failure: list[str] = []

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=operation.as_strategy())
    def run(case):
        if failure:
            return
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        except AssertionError as error:  # schemathesis' failures are AssertionErrors
            failure.append(f"{operation.label}: {str(error)[:600]}\n  {case.as_curl_command(headers=headers)}"[:1200])

    run()
    return failure[0] if failure else None


@pytest.mark.parametrize("role", ROLES)
def test_the_fuzzer_finds_no_server_error_or_schema_mismatch(live_server, role):
    tokens = _committed_tokens()
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json")
    failures, operations = [], 0
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            found = _fuzz_operation(operation, live_server, headers, session)
            if found:
                failures.append(found)
    assert operations >= 40, "the document lists fewer operations than the API has"
    assert not failures, "\n\n".join(failures)
