"""A Dreamina sessionid the upstream rejected (jimeng's -2002, reported by the proxy as a
`credential_rejected` outcome): the worker is told and decides, having asked jimeng-api whether the
sessionid lives (tests/integration/refresh_worker/test_dreamina_revalidation.py: one that is dead and
cannot log in outside `cn` becomes invalid there); meanwhile every account stays, cooled."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import publish_usage, wait_until


@pytest.mark.parametrize(
    ("region", "password"), [("cn", ""), ("cn", "pw"), ("us", "pw"), ("us", ""), ("jp", " ")]
)
def test_a_rejected_sessionid_is_sent_to_the_worker_which_decides(api: Api, region, password) -> None:
    _, key = api.new_user()
    created = api.call(
        "POST",
        "/accounts/dreamina",
        key,
        json={
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": password,
            "region": region,
            "sessionid": uuid.uuid4().hex,
        },
    )
    account = created.json()
    tap = api.tap()
    try:
        publish_usage(api, account["id"], "credential_rejected", status_code=200)
        tap.wait_for(
            lambda seen: any(
                e["type"] == "account.credential_rejected" and e["data"]["account_id"] == account["id"]
                for e in seen
            )
        )
    finally:
        tap.close()
    got = wait_until(
        lambda: (a := api.call("GET", f"/accounts/{account['id']}", key).json())["status"] == "active" and a
    )
    assert got["status_reason"] is None  # nothing decided here: the worker checks the sessionid first
