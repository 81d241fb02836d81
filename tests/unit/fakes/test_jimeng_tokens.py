"""The fake jimeng-api token routes answer as jimeng does: HTTP 200 always, prefixes taken literally."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.fakes import jimeng_tokens


@pytest.fixture
async def fake():
    async with TestClient(TestServer(jimeng_tokens.create_app())) as client:
        yield client


async def test_liveness_and_points_per_token_as_registered(fake):
    assert (await fake.put("/_fake/jimeng/tokens/us-abc", json={"live": True, "points": 42})).status == 200
    assert await (await fake.post("/token/check", json={"token": "us-abc"})).json() == {"live": True}
    assert await (await fake.post("/token/check", json={"token": "abc"})).json() == {"live": False}
    points = await (await fake.post("/token/points", headers={"Authorization": "Bearer us-abc"})).json()
    assert points == [
        {
            "token": "us-abc",
            "points": {"giftCredit": 42, "purchaseCredit": 0, "vipCredit": 0, "totalCredit": 42},
        }
    ]
    dead = await fake.post("/token/points", headers={"Authorization": "Bearer abc"})
    assert dead.status == 200 and (await dead.json())["code"] == -2002
    logged = await (await fake.get("/_fake/requests")).json()
    assert [(e["path"], e["body"]) for e in logged][:2] == [
        ("/token/check", {"token": "us-abc"}),
        ("/token/check", {"token": "abc"}),
    ]


async def test_injected_failures_and_a_missing_token_field(fake):
    assert (await fake.post("/_fake/jimeng/fail", json={"status": 503})).status == 200
    assert (await fake.post("/token/check", json={"token": "x"})).status == 503
    await fake.post("/_fake/jimeng/fail", json={"status": None})
    answer = await (await fake.post("/token/check", json={})).json()
    assert answer["code"] == -2000 and answer["data"] is None
