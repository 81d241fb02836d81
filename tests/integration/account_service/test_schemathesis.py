"""Property tests of the management API from its own OpenAPI document (schemathesis).

account_service runs in-process on the real PostgreSQL, Redis and RabbitMQ (the module's `api`
fixture); every operation gets valid and invalid requests, each sent with a user's key and with an
admin's. No answer may be a 5xx, and every status answered must be one the document lists for the
operation (schemathesis' `not_a_server_error` and `status_code_conformance`).

Requests go through the fixture's own TestClient rather than schemathesis' ASGI transport, which would
run the app's lifespan again for every call. The tally of answers is printed as one line,
`SCHEMATHESIS requests=N 5xx=N undocumented=N by_status={...}`, and kept in
`.pytest_cache/schemathesis.txt`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from services.account_service.app import create_app
from services.account_service.settings import AccountServiceSettings
from tests.integration.account_service._api import SCHEMATHESIS_SUMMARY, Api

# Per operation; each example is sent twice (user, admin): under a minute. A deeper hunt, e.g.
# POOLGATE_SCHEMATHESIS_EXAMPLES=200, takes longer.
MAX_EXAMPLES = int(os.environ.get("POOLGATE_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance]

_tally: Counter[str] = Counter()
_by_status: Counter[int] = Counter()


def _summary() -> str:
    by_status = dict(sorted(_by_status.items()))
    return (
        f"SCHEMATHESIS requests={_tally['requests']} 5xx={_tally['5xx']}"
        f" undocumented={_tally['undocumented']} by_status={by_status}"
    )


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest):
    yield
    line = _summary()
    print(f"\n{line}")  # seen with -s
    request.config.stash[SCHEMATHESIS_SUMMARY] = line  # the terminal summary shows it in any case
    cache = Path(request.config.rootpath, ".pytest_cache")
    cache.mkdir(exist_ok=True)
    (cache / "schemathesis.txt").write_text(line + "\n")


@pytest.fixture(scope="module")
def roles(api: Api) -> dict[str, str]:
    _, user_key = api.new_user()
    return {"user": user_key, "admin": api.admin_key}


def _management_api():
    """The document the service serves, built without starting it (nothing connects at import)."""
    with contextlib.redirect_stderr(sys.__stderr__):  # as conftest.py: logging keeps this stream
        spec = create_app(AccountServiceSettings(log_json=False, log_level="WARNING")).openapi()
    loaded = schemathesis.openapi.from_dict(spec).include(path_regex="^/api/v1/")
    loaded.config.generation.update(modes=["positive", "negative"])
    return loaded


def _documented(case: Any, status: int) -> bool:
    if status == 405 and case.method.upper() != case.operation.method.upper():
        return True  # a method the path does not have: 405 is the answer the check expects
    responses = case.operation.definition.raw.get("responses", {})
    return str(status) in responses or f"{str(status)[0]}XX" in responses or "default" in responses


def _send(api: Api, case: Any, key: str):
    auth = {"authorization": f"Bearer {key}"}
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=auth)
    data = kwargs.pop("data", None)
    if data is not None:
        kwargs["content" if isinstance(data, bytes | str) else "data"] = data
    kwargs.pop("verify", None)
    kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)
    return api.client.request(**kwargs)


schema = _management_api()


def test_the_document_tested_is_the_one_served(api: Api):
    assert api.client.get("/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_only_documented_statuses(case, api: Api, roles: dict[str, str]):
    responses = []
    for key in roles.values():  # each example as a user and as an admin
        try:
            response = _send(api, case, key)
        except Exception:  # the TestClient raises what the app raised after its JSON 500
            _tally["requests"] += 1
            _tally["5xx"] += 1
            _by_status[500] += 1
            raise
        _tally["requests"] += 1
        _by_status[response.status_code] += 1
        if response.status_code >= 500:
            _tally["5xx"] += 1
        if not _documented(case, response.status_code):
            _tally["undocumented"] += 1
        responses.append(response)
    for response in responses:
        case.validate_response(response, checks=CHECKS)
