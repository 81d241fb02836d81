"""Dreamina accounts end to end: images with the official openai SDK (`images.generate`, `images.edit`)
and video with a plain HTTP client, through PoolGate to the fake jimeng-api. Each account's sessionid
goes upstream with its own region's prefix and nothing of the client's key; a rejected sessionid
fails over (and account_service announces the rejection), credits gone make the account exhausted,
a model no account serves is the client's 400, and an expired cn account still serves.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aio_pika
import httpx
import openai
import pytest

from shared.messages import Envelope
from shared.messages.broker import BATCH_CONTENT_TYPE
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000185d114090000000049454e44ae426082"
)


class DreaminaUser:
    def __init__(self, stack: Stack, key: str) -> None:
        self.stack = stack
        self.key = key
        self.sessionids: dict[str, str] = {}  # account id → its stored (raw) sessionid

    def openai(self, base: str | None = None) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=f"{base or self.stack.proxy_url}/v1", api_key=self.key, max_retries=0
        )

    async def add(self, region: str, *, password: str = "", **fields: Any) -> str:
        sessionid = uuid.uuid4().hex
        body = {
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": password,
            "region": region,
            "sessionid": sessionid,
            **fields,
        }
        async with httpx.AsyncClient(base_url=self.stack.account_service_url, timeout=10) as client:
            created = await client.post(
                "/api/v1/accounts/dreamina", headers={"authorization": f"Bearer {self.key}"}, json=body
            )
        assert created.status_code == 201, created.text
        self.sessionids[created.json()["id"]] = sessionid
        return sessionid

    async def account(self, account_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.stack.account_service_url, timeout=10) as client:
            response = await client.get(
                f"/api/v1/accounts/{account_id}", headers={"authorization": f"Bearer {self.key}"}
            )
        response.raise_for_status()
        return response.json()

    async def until_served(self, count: int = 1) -> None:
        """The allocation index learns of new accounts through events: wait until all `count` serve."""
        seen: set[str] = set()
        deadline = time.monotonic() + 20
        while len(seen) < count:
            since = len(jimeng_log(self.stack))
            try:
                await self.openai().images.generate(model="jimeng-4.0", prompt="warm-up")
            except openai.APIStatusError as exc:
                assert time.monotonic() < deadline, f"never served: {exc}"
                await asyncio.sleep(0.1)
                continue
            seen |= {e["jimeng"]["sessionid"] for e in jimeng_log(self.stack)[since:]} & set(
                self.sessionids.values()
            )
            assert time.monotonic() < deadline, f"only {len(seen)} of {count} accounts served"


async def dreamina_user(stack: Stack) -> DreaminaUser:
    name = f"dreamina-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(stack.cli, "users", "create", name)
    return DreaminaUser(stack, await asyncio.to_thread(stack.cli, "keys", "create", "--user", name))


def jimeng(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    with stack.fake("jimeng") as fake:
        response = fake.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


def jimeng_log(stack: Stack) -> list[dict[str, Any]]:
    return [e for e in jimeng(stack, "GET", "/_fake/requests") if e["path"].startswith("/v1/")]


def calls_of(stack: Stack, *sessionids: str) -> list[dict[str, Any]]:
    return [e for e in jimeng_log(stack) if e["jimeng"]["sessionid"] in sessionids]


async def test_a_cn_account_sends_its_raw_sessionid_and_the_sdk_gets_four_images(stack: Stack) -> None:
    user = await dreamina_user(stack)
    sid = await user.add("cn")
    await user.until_served()
    answer = await user.openai().images.generate(
        model="gpt-image-1", prompt="a lighthouse", quality="low", size="1792x1024"
    )
    assert len(answer.data) == 4 and all(image.url for image in answer.data)
    call = calls_of(stack, sid)[-1]
    assert call["headers"]["authorization"] == f"Bearer {sid}"
    assert call["body"] == {"prompt": "a lighthouse", "model": "jimeng-4.0", "ratio": "16:9"}
    assert call["jimeng"]["region"] == "cn"


async def test_a_us_account_sends_the_us_prefix(stack: Stack) -> None:
    user = await dreamina_user(stack)
    sid = await user.add("us")
    await user.until_served()
    answer = await user.openai().images.generate(
        model="nanobanana", prompt="a fox", response_format="b64_json"
    )
    assert len(answer.data) == 4 and all(image.b64_json for image in answer.data)
    assert {c["headers"]["authorization"] for c in calls_of(stack, sid)} == {f"Bearer us-{sid}"}


async def test_mixed_regions_in_one_pool_each_use_their_own_prefix(stack: Stack) -> None:
    user = await dreamina_user(stack)
    sids = {region: await user.add(region) for region in ("cn", "us", "hk", "jp", "sg")}
    await user.until_served(count=len(sids))
    await asyncio.gather(*(user.openai().images.generate(model="jimeng-4.0", prompt="p") for _ in range(20)))
    expected = {
        sid: (f"Bearer {sid}" if region == "cn" else f"Bearer {region}-{sid}") for region, sid in sids.items()
    }
    calls = calls_of(stack, *sids.values())
    assert {c["jimeng"]["sessionid"] for c in calls} == set(sids.values())
    for call in calls:
        assert call["headers"]["authorization"] == expected[call["jimeng"]["sessionid"]]
    # jimeng-5.0 is not served by the US site: the us account never gets it.
    for _ in range(10):
        await user.openai().images.generate(model="jimeng-5.0", prompt="p")
    five = [c for c in calls_of(stack, *sids.values()) if c["body"].get("model") == "jimeng-5.0"]
    assert len(five) == 10 and sids["us"] not in {c["jimeng"]["sessionid"] for c in five}


async def test_images_edit_goes_upstream_as_a_composition_of_the_files(stack: Stack) -> None:
    user = await dreamina_user(stack)
    sid = await user.add("hk")
    await user.until_served()
    answer = await user.openai().images.edit(
        model="gpt-image-1",
        image=[("first.png", PNG, "image/png"), ("second.png", PNG, "image/png")],
        prompt="put them side by side",
        size="1024x1536",
    )
    assert len(answer.data) == 4
    call = calls_of(stack, sid)[-1]
    assert call["path"] == "/v1/images/compositions"
    assert [f["name"] for f in call["files"]] == ["images", "images"]
    assert [f["size"] for f in call["files"]] == [len(PNG), len(PNG)]
    assert call["body"]["ratio"] == "2:3" and "size" not in call["body"]
    assert call["headers"]["authorization"] == f"Bearer hk-{sid}"


async def test_video_with_a_plain_http_client_as_json_and_as_multipart(stack: Stack) -> None:
    user = await dreamina_user(stack)
    sid = await user.add("jp")
    await user.until_served()
    headers = {"authorization": f"Bearer {user.key}"}
    async with httpx.AsyncClient(base_url=stack.proxy_url, headers=headers, timeout=30) as client:
        as_json = await client.post("/v1/videos/generations", json={"prompt": "waves", "duration": 5})
        as_form = await client.post(
            "/v1/videos/generations",
            data={"prompt": "waves", "functionMode": "first_last_frames"},
            files={
                "image_file_1": ("first.png", PNG, "image/png"),
                "image_file_2": ("last.png", PNG, "image/png"),
            },
        )
    for response in (as_json, as_form):
        assert response.status_code == 200, response.text
        assert response.json()["data"][0]["url"].endswith(".mp4")
    json_call, form_call = calls_of(stack, sid)[-2:]
    assert json_call["body"] == {"prompt": "waves", "duration": 5, "model": "jimeng-video-3.5-pro"}
    assert [f["name"] for f in form_call["files"]] == ["image_file_1", "image_file_2"]
    assert form_call["headers"]["authorization"] == f"Bearer jp-{sid}"


class _Tap:
    """A queue bound to the stack's exchange before the action, read after it."""

    def __init__(self, stack: Stack, routing_key: str) -> None:
        self.stack = stack
        self.routing_key = routing_key

    async def __aenter__(self) -> _Tap:
        self.connection = await aio_pika.connect(self.stack.env["POOLGATE_AMQP_URL"])
        channel = await self.connection.channel()
        exchange = await channel.get_exchange(self.stack.env["POOLGATE_EVENTS_EXCHANGE"])
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self.queue.bind(exchange, routing_key=self.routing_key)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def first_about(self, account_id: str, timeout_s: float = 15) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s), self.queue.iterator() as messages:
            async for message in messages:
                await message.ack()
                batch = message.content_type == BATCH_CONTENT_TYPE
                for envelope in Envelope.many_from_bytes(message.body, batch=batch):
                    if envelope.data.get("account_id") == account_id:
                        return envelope.data
        raise AssertionError("unreachable")


async def test_a_rejected_sessionid_fails_over_and_account_service_announces_it(stack: Stack) -> None:
    user = await dreamina_user(stack)
    dead = await user.add("us")
    alive = await user.add("sg")
    await user.until_served(count=2)
    dead_id = next(a for a, s in user.sessionids.items() if s == dead)
    jimeng(stack, "POST", f"/_fake/jimeng/tokens/{dead}", json={"live": False})
    async with _Tap(stack, "account.credential_rejected") as tap:
        served = set()
        for _ in range(40):  # until the dead account was picked at least once (a random pick)
            since = len(jimeng_log(stack))
            answer = await user.openai().images.generate(model="jimeng-4.0", prompt="p")
            assert len(answer.data) == 4  # every call served, by the live account when need be
            served |= {c["jimeng"]["sessionid"] for c in jimeng_log(stack)[since:]}
            if dead in served:
                break
        assert dead in served and alive in served
        rejected = await tap.first_about(dead_id)
    assert rejected["kind"] == "dreamina"
    assert rejected["reason"] == "upstream rejected the credential (upstream code -2002)"


async def test_credits_gone_1006_make_the_account_exhausted_and_another_serves(stack: Stack) -> None:
    user = await dreamina_user(stack)
    poor = await user.add("hk")
    rich = await user.add("jp")
    await user.until_served(count=2)
    poor_id = next(a for a, s in user.sessionids.items() if s == poor)
    message = "[请求失败]: Not enough credits left (错误码: 1006)"
    jimeng(stack, "POST", f"/_fake/jimeng/scripts/{poor}", json={"code": -2001, "message": message})
    deadline = time.monotonic() + 20
    while (account := await user.account(poor_id))["status"] != "exhausted":
        assert time.monotonic() < deadline, account
        answer = await user.openai().images.generate(model="jimeng-4.0", prompt="p")
        assert len(answer.data) == 4
    assert account["status_reason"] == "upstream quota exhausted (upstream code -2001)"
    assert account["status_until"] is not None
    # Out of the pool: once the status change has reached the allocation index (through events),
    # the other account takes every call.
    deadline = time.monotonic() + 20
    while True:
        since = len(jimeng_log(stack))
        for _ in range(5):
            await user.openai().images.generate(model="jimeng-4.0", prompt="p")
        if {c["jimeng"]["sessionid"] for c in jimeng_log(stack)[since:]} == {rich}:
            break
        assert time.monotonic() < deadline, "the exhausted account kept being picked"


async def test_a_model_no_account_serves_is_a_400_naming_the_regions_that_do(stack: Stack) -> None:
    user = await dreamina_user(stack)
    await user.add("us")
    await user.until_served()
    with pytest.raises(openai.BadRequestError) as refused:
        await user.openai().images.generate(model="jimeng-3.1", prompt="p")
    error = refused.value.body
    assert error["param"] == "model" and error["code"] == "model_not_found"
    assert "'jimeng-3.1'" in error["message"] and "region cn" in error["message"]
    with pytest.raises(openai.BadRequestError) as unknown:
        await user.openai().images.generate(model="dall-e-3", prompt="p")
    assert "not a Dreamina image model" in unknown.value.body["message"]


async def test_the_clients_key_never_reaches_jimeng(stack: Stack) -> None:
    user = await dreamina_user(stack)
    sid = await user.add("sg")
    await user.until_served()
    headers = {"authorization": f"Bearer {user.key}", "x-api-key": user.key}
    async with httpx.AsyncClient(base_url=stack.proxy_url, headers=headers, timeout=30) as client:
        response = await client.post("/v1/images/generations", json={"prompt": "p", "model": "jimeng-4.0"})
    assert response.status_code == 200
    for call in calls_of(stack, sid):
        assert user.key not in repr(call["headers"])
        assert "x-api-key" not in call["headers"]
        assert call["headers"]["authorization"] == f"Bearer sg-{sid}"


async def test_an_expired_cn_account_stays_allocatable(stack: Stack) -> None:
    user = await dreamina_user(stack)
    past = "2020-01-01T00:00:00Z"
    sid = await user.add("cn", sessionid_expires_at=past)
    await user.until_served()
    answer = await user.openai().images.generate(model="jimeng-3.1", prompt="p")
    assert len(answer.data) == 4
    assert calls_of(stack, sid)[-1]["headers"]["authorization"] == f"Bearer {sid}"


async def test_an_accounts_own_api_base_is_held_to_the_ssrf_guard_and_the_operators_url_is_not(
    stack: Stack,
) -> None:
    user = await dreamina_user(stack)
    own = await user.add("us", api_base=stack.jimeng_url)  # its own server, on a loopback address
    operators = await user.add("hk")
    await user.until_served(count=2)  # private upstreams are allowed on the stack's own proxy
    own_id = next(a for a, s in user.sessionids.items() if s == own)
    with stack.proxy_replica(POOLGATE_ALLOW_PRIVATE_UPSTREAMS="false") as (url, replica):
        since = len(jimeng_log(stack))
        for _ in range(12):  # each account is picked half the time
            answer = await user.openai(url).images.generate(model="jimeng-4.0", prompt="p")
            assert len(answer.data) == 4  # served through the operator's URL, never the account's own
        refused = [line for line in replica.logs().splitlines() if own_id in line and "connect_error" in line]
    assert {c["jimeng"]["sessionid"] for c in jimeng_log(stack)[since:]} == {operators}
    assert refused, "the account's own loopback api_base was never tried (and refused)"
