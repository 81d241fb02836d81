"""Image and video calls through the attempt loop, with account_service and jimeng-api faked at their
boundaries: envelope failures fail over or answer the client, a multipart body is re-sent unchanged,
and each attempt's usage event says what it produced."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
from starlette.requests import Request

from services.proxy_service.formats.client_format import IMAGE_EDITS, IMAGE_GENERATIONS, VIDEO_GENERATIONS
from services.proxy_service.relay import AttemptDeps, Leases, Relay, RetryPolicy
from services.proxy_service.upstreams.custom_api import CustomApiUpstream
from services.proxy_service.upstreams.dreamina import DreaminaUpstream
from shared.errors import NoAccountAvailable
from shared.internal_client import Allocation, Upstream
from tests.unit.proxy_service.relay._fakes import FakeSession, FakeUpstreamResponse, Recorder

FOUR = orjson.dumps({"created": 1, "data": [{"url": f"https://x.invalid/{i}.png"} for i in range(4)]})
VIDEO = orjson.dumps({"created": 1, "data": [{"url": "https://x.invalid/v.mp4", "revised_prompt": "waves"}]})
CREDITS_1006 = "[请求失败]: Not enough credits left (错误码: 1006)"


def envelope(code: int, message: str) -> FakeUpstreamResponse:
    return FakeUpstreamResponse(body=orjson.dumps({"code": code, "message": message, "data": None}))


def ok(body: bytes = FOUR) -> FakeUpstreamResponse:
    return FakeUpstreamResponse(body=body)


class DreaminaInternal:
    """account_service with Dreamina accounts (id → region): the first one not excluded."""

    def __init__(self, **accounts: str) -> None:
        self.accounts = accounts
        self.calls: list[dict[str, Any]] = []

    async def allocate(self, *, exclude: list[str], release: Any = None, **asked: Any) -> Allocation:
        self.calls.append({**asked, "exclude": list(exclude)})
        for account_id, region in self.accounts.items():
            if account_id not in exclude:
                upstream = Upstream(
                    url=f"http://{account_id}",
                    credential=f"{account_id}0123456789abcdef",  # hex-like, as real ones are
                    format="jimeng",
                    provider="dreamina",
                    model=None,
                    region=region,
                )
                return Allocation(
                    f"lease-{account_id}", "key-1", "user-1", account_id, "dreamina", region, upstream
                )
        raise NoAccountAvailable("nothing left")

    async def settle_leases(self, *, release: Any = None, renew: Any = None) -> int:
        return 0


class RecordingSession(FakeSession):
    def __init__(self, scripts: dict[str, list[Any]]) -> None:
        super().__init__(scripts)
        self.sent: list[dict[str, Any]] = []

    async def post(self, url: str, **options: Any) -> FakeUpstreamResponse:
        self.sent.append({"url": url, **options})
        return await super().post(url, **options)


def relay(internal: DreaminaInternal, session: FakeSession, usage: Recorder) -> Relay:
    deps = AttemptDeps(
        session=session,  # type: ignore[arg-type]
        usage=usage,  # type: ignore[arg-type]
        leases=Leases(internal),  # type: ignore[arg-type]
        first_byte_timeout_s=5.0,
    )
    upstreams = {
        u.kind: u
        for u in (CustomApiUpstream(), DreaminaUpstream(api_url="http://unused", first_byte_timeout_s=60))
    }
    retry = RetryPolicy(same_account_retries=1, base_delay_s=0.01, max_wait_s=0.1)
    return Relay(internal=internal, upstreams=upstreams, deps=deps, max_attempts=4, retry=retry)  # type: ignore[arg-type]


def http_request(path: str, body: bytes, content_type: str) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [
            (b"authorization", b"Bearer pg-client-key"),
            (b"x-api-key", b"pg-client-key"),
            (b"content-type", content_type.encode()),
        ],
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return Request(scope, receive)


def generate(**fields: Any) -> Request:
    body = orjson.dumps({"prompt": "a cat", "model": "jimeng-4.0", **fields})
    return http_request("/v1/images/generations", body, "application/json")


async def test_a_rejected_sessionid_fails_over_and_each_attempt_is_recorded() -> None:
    internal = DreaminaInternal(dead="us", alive="cn")
    session = RecordingSession({"dead": [envelope(-2002, "[登录失效]: check login error")], "alive": [ok()]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(generate(), IMAGE_GENERATIONS)
    assert response.status_code == 200
    assert orjson.loads(response.body) == orjson.loads(FOUR)
    assert [(e.account_id, e.outcome, e.upstream_code, e.images) for e in usage.events] == [
        ("dead", "credential_rejected", -2002, None),
        ("alive", "success", None, 4),
    ]
    assert {e.capability for e in usage.events} == {"image"}
    assert [c["capability"] for c in internal.calls] == ["image", "image"]
    assert internal.calls[1]["exclude"] == ["dead"]
    # Each account's own credential, prefixed for its region; never the client's key.
    auths = [sent["headers"]["authorization"] for sent in session.sent]
    assert auths == ["Bearer us-dead0123456789abcdef", "Bearer alive0123456789abcdef"]
    assert all("pg-client-key" not in repr(sent["headers"]) for sent in session.sent)
    assert all("x-api-key" not in sent["headers"] for sent in session.sent)


async def test_credits_gone_fail_over_as_exhausted() -> None:
    internal = DreaminaInternal(poor="hk", rich="jp")
    session = RecordingSession({"poor": [envelope(-2001, CREDITS_1006)], "rich": [ok()]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(generate(), IMAGE_GENERATIONS)
    assert response.status_code == 200
    assert [e.outcome for e in usage.events] == ["exhausted", "success"]


async def test_a_request_jimeng_refuses_is_the_clients_400_with_its_message_and_no_failover() -> None:
    internal = DreaminaInternal(one="us", two="us")
    message = '[请求有误]: 国际版不支持模型 "x"'
    session = RecordingSession({"one": [envelope(-1000, message)], "two": [ok()]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(generate(), IMAGE_GENERATIONS)
    assert response.status_code == 400
    assert orjson.loads(response.body)["error"] == {
        "message": message,
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert [e.outcome for e in usage.events] == ["client_error"]
    assert session.posts == ["one"]


async def test_when_every_account_is_out_of_credits_the_client_gets_insufficient_quota() -> None:
    internal = DreaminaInternal(a="us", b="sg")
    session = RecordingSession({"a": [envelope(-2009, "[积分不足]")], "b": [envelope(-2009, "[积分不足]")]})
    response = await relay(internal, session, Recorder()).handle(generate(), IMAGE_GENERATIONS)
    assert response.status_code == 429
    assert orjson.loads(response.body)["error"]["code"] == "insufficient_quota"


async def test_a_gateway_error_fails_over_like_chat() -> None:
    internal = DreaminaInternal(a="us", b="us")
    session = RecordingSession(
        {"a": [FakeUpstreamResponse(status=502, body=b"<html>bad gateway</html>")], "b": [ok()]}
    )
    usage = Recorder()
    response = await relay(internal, session, usage).handle(generate(), IMAGE_GENERATIONS)
    assert response.status_code == 200
    assert [e.outcome for e in usage.events] == ["upstream_error", "success"]


async def test_a_multipart_edit_is_re_sent_byte_for_byte_as_a_composition() -> None:
    form = aiohttp.FormData()
    form.add_field("prompt", "make it blue")
    form.add_field("model", "gpt-image-1")
    form.add_field("quality", "low")
    form.add_field("size", "1536x1024")
    form.add_field("image[]", b"\x89PNG first", filename="a.png", content_type="image/png")
    form.add_field("image[]", b"\x89PNG second", filename="b.png", content_type="image/png")
    form.add_field("mask", b"\x89PNG mask", filename="m.png", content_type="image/png")
    payload = form()
    body = await payload.as_bytes()
    internal = DreaminaInternal(a="us", b="hk")
    session = RecordingSession({"a": [envelope(-2007, "[图像生成失败]")], "b": [ok()]})
    response = await relay(internal, session, Recorder()).handle(
        http_request("/v1/images/edits", body, payload.content_type), IMAGE_EDITS
    )
    assert response.status_code == 200
    first, second = session.sent
    assert first["url"] == "http://a/v1/images/compositions"
    assert first["data"] == second["data"]
    assert first["headers"]["content-type"] == second["headers"]["content-type"]
    sent = first["data"]
    assert sent.count(b'name="images"') == 2 and b"mask" not in sent
    assert b"\x89PNG first" in sent and b"\x89PNG second" in sent
    assert b'name="size"' not in sent and b'name="quality"' not in sent
    assert b"jimeng-4.0" in sent and b"3:2" in sent
    assert internal.calls[0]["model"] == "jimeng-4.0"


async def test_a_video_records_its_seconds() -> None:
    internal = DreaminaInternal(a="cn")
    session = RecordingSession({"a": [ok(VIDEO)]})
    usage = Recorder()
    body = orjson.dumps({"prompt": "waves", "duration": 5})
    response = await relay(internal, session, usage).handle(
        http_request("/v1/videos/generations", body, "application/json"), VIDEO_GENERATIONS
    )
    assert response.status_code == 200
    assert [(e.capability, e.video_seconds, e.model) for e in usage.events] == [
        ("video", 5.0, "jimeng-video-3.5-pro")
    ]
    assert session.sent[0]["url"] == "http://a/v1/videos/generations"


async def test_bad_input_is_a_400_before_any_allocation() -> None:
    internal = DreaminaInternal(a="us")
    session = RecordingSession({"a": [ok()]})
    cases = [
        (generate(size="huge"), IMAGE_GENERATIONS, "size"),
        (
            http_request("/v1/images/generations", b'{"model":"x"}', "application/json"),
            IMAGE_GENERATIONS,
            "prompt",
        ),
        (http_request("/v1/images/edits", b'{"prompt":"p"}', "application/json"), IMAGE_EDITS, None),
        (
            http_request("/v1/images/edits", b"--x\r\nbroken", "multipart/form-data"),  # no boundary
            IMAGE_EDITS,
            None,
        ),
    ]
    for request, fmt, param in cases:
        response = await relay(internal, session, Recorder()).handle(request, fmt)
        assert response.status_code == 400, response.body
        assert orjson.loads(response.body)["error"]["param"] == param
    assert internal.calls == [] and session.sent == []


async def test_an_edit_without_an_image_file_is_a_400_naming_image() -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("prompt", "p")
    payload = form()
    response = await relay(DreaminaInternal(a="us"), RecordingSession({"a": [ok()]}), Recorder()).handle(
        http_request("/v1/images/edits", await payload.as_bytes(), payload.content_type), IMAGE_EDITS
    )
    assert response.status_code == 400
    assert orjson.loads(response.body)["error"]["param"] == "image"
