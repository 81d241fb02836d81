"""Reading jimeng-api's token answers; anything but a clean answer teaches nothing about the sessionid."""

from __future__ import annotations

import httpx
import orjson
import pytest

from services.refresh_worker.dreamina.jimeng import Jimeng, JimengUnavailable, parse_credits, parse_live

POINTS = [
    {"token": "us-x", "points": {"giftCredit": 60, "purchaseCredit": 0, "vipCredit": 20, "totalCredit": 80}}
]


def test_live_and_dead():
    assert parse_live(200, b'{"live": true}') is True
    assert parse_live(200, b'{"live": false}') is False


def test_credits_are_the_total():
    assert parse_credits(200, orjson.dumps(POINTS)) == 80
    assert parse_credits(200, orjson.dumps([{"token": "t", "points": {"totalCredit": 12.0}}])) == 12


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (502, b"bad gateway", "jimeng-api /token/check answered HTTP 502"),
        (200, b"<html>", "jimeng-api /token/check answered with a body that is not JSON"),
        (
            200,
            b'{"code": -2000, "message": "Params body.token invalid", "data": null}',
            "jimeng-api /token/check failed with code -2000: Params body.token invalid",
        ),
        (200, b'{"live": "yes"}', "jimeng-api /token/check answered without a boolean live"),
        (200, b"[]", "jimeng-api /token/check answered without a boolean live"),
    ],
)
def test_a_check_that_is_not_a_clean_answer_is_unavailable(status, body, reason):
    with pytest.raises(JimengUnavailable) as failed:
        parse_live(status, body)
    assert failed.value.reason == reason


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": -2002, "message": "[\\u767b\\u5f55\\u5931\\u6548]", "data": null}',
        b"[]",
        orjson.dumps(POINTS * 2),
        b'[{"token": "t", "points": {"totalCredit": true}}]',
        b'[{"token": "t"}]',
    ],
)
def test_points_that_are_not_one_clean_answer_are_unavailable(body):
    with pytest.raises(JimengUnavailable):
        parse_credits(200, body)


async def test_the_calls_carry_the_token_where_jimeng_reads_it():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/token/check":
            return httpx.Response(200, json={"live": True})
        return httpx.Response(200, json=POINTS)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        jimeng = Jimeng(http, base_url="http://jimeng.test/", timeout_s=5)
        assert await jimeng.is_live("us-x") is True
        assert await jimeng.credits("us-x") == 80
    check, points = seen
    assert (check.method, str(check.url), orjson.loads(check.content)) == (
        "POST",
        "http://jimeng.test/token/check",
        {"token": "us-x"},
    )
    assert (str(points.url), points.headers["authorization"]) == (
        "http://jimeng.test/token/points",
        "Bearer us-x",
    )


async def test_an_unreachable_or_slow_upstream_is_unavailable_without_the_token_in_the_reason():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    for handler, reason in (
        (refuse, "jimeng-api /token/check unreachable (ConnectError)"),
        (slow, "jimeng-api /token/check timed out (ReadTimeout)"),
    ):
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            with pytest.raises(JimengUnavailable) as failed:
                await Jimeng(http, base_url="http://jimeng.test", timeout_s=5).is_live("us-secret")
        assert failed.value.reason == reason
