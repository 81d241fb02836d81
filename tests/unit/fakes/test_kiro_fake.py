"""The fake Kiro upstream: refresh hosts, token lineages, the event-stream chat host, scripts and faults.

Its frames are decoded with the proxy's own codec, and the fake's encoder is checked against it, so that
both implementations agree on the wire format without sharing code.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import signal
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.proxy_service.upstreams.kiro.eventstream import (
    EventStreamDecoder,
    EventStreamError,
    Message,
    encode_message,
)
from tests.fakes import _kiro_frames, kiro_upstream
from tests.fakes._content import THINKING_TEXT

INVALID_GRANT = {"error": "invalid_grant", "error_description": "Invalid refresh token provided"}
IMPROPER = {"message": "Improperly formed request.", "reason": None}
INVALID_BEARER = {"message": "The bearer token included in the request is invalid.", "reason": None}
MODEL = "claude-sonnet-4.6"
WEATHER_TOOL = {
    "toolSpecification": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
}
REPO = Path(__file__).resolve().parents[3]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


@pytest.fixture
async def kiro():
    async with TestClient(TestServer(kiro_upstream.create_app())) as client:
        yield client


def chat_body(content="Say hello", *, history=None, tools=None, tool_results=None, model=MODEL, **top):
    message = {"content": content, "modelId": model, "origin": "AI_EDITOR"}
    context = {}
    if tools is not None:
        context["tools"] = tools
    if tool_results is not None:
        context["toolResults"] = tool_results
    if context:
        message["userInputMessageContext"] = context
    state = {
        "chatTriggerType": "MANUAL",
        "conversationId": str(uuid.uuid4()),
        "currentMessage": {"userInputMessage": message},
    }
    if history is not None:
        state["history"] = history
    return {"conversationState": state, **top}


def user(content, **extra):
    return {"userInputMessage": {"content": content, "modelId": MODEL, "origin": "AI_EDITOR", **extra}}


def assistant(content, tool_uses=None):
    message = {"content": content}
    if tool_uses is not None:
        message["toolUses"] = tool_uses
    return {"assistantResponseMessage": message}


async def mint(kiro, lineage="rt-chat", region="us-east-1") -> str:
    resp = await kiro.post("/_fake/kiro/access-tokens", json={"lineage": lineage, "region": region})
    assert resp.status == 200
    return (await resp.json())["access_token"]


async def chat(kiro, token, body, api_region="us-east-1"):
    headers = {"Authorization": f"Bearer {token}"}
    return await kiro.post(f"/q/{api_region}/generateAssistantResponse", json=body, headers=headers)


async def stream_events(kiro, body, token=None) -> list[Message]:
    resp = await chat(kiro, token or await mint(kiro), body)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/vnd.amazon.eventstream"
    decoder = EventStreamDecoder()
    messages = decoder.feed(await resp.read())
    assert decoder.buffered == 0
    return messages


def payloads(messages: list[Message], event_type: str) -> list[dict]:
    return [json.loads(m.payload) for m in messages if m.event_type == event_type]


def text_of(messages: list[Message]) -> str:
    return "".join(p["content"] for p in payloads(messages, "assistantResponseEvent"))


async def social(kiro, token, region="us-east-1"):
    return await kiro.post(f"/auth/{region}/refreshToken", json={"refreshToken": token})


async def idc(kiro, token, region="us-east-1", **fields):
    body = {"clientId": "cid", "clientSecret": "secret", "grantType": "refresh_token", "refreshToken": token}
    body.update(fields)
    return await kiro.post(f"/oidc/{region}/token", json={k: v for k, v in body.items() if v is not None})


async def lineage_view(kiro, name):
    resp = await kiro.get(f"/_fake/kiro/lineages/{name}")
    assert resp.status == 200
    return await resp.json()


# --- refresh hosts ------------------------------------------------------------------------------------


async def test_social_refresh_rotates_and_kills_the_previous_token(kiro):
    first = await social(kiro, "rt-social", region="eu-west-1")
    assert first.status == 200
    answer = await first.json()
    assert answer["accessToken"].startswith("at-")
    assert answer["refreshToken"] == "rt-social.r1"
    assert answer["profileArn"] == "arn:aws:codewhisperer:eu-west-1:699475941385:profile/FAKE"
    assert answer["expiresIn"] == 3600

    second = await social(kiro, "rt-social.r1", region="eu-west-1")
    assert (await second.json())["refreshToken"] == "rt-social.r2"
    reused = await social(kiro, "rt-social", region="eu-west-1")
    assert (reused.status, await reused.json()) == (400, INVALID_GRANT)

    assert await lineage_view(kiro, "rt-social") == {
        "region": "eu-west-1",
        "auth": "social",
        "refresh_count": 2,
        "current_refresh_token": "rt-social.r2",
        "invalid_grants": 1,
    }
    log = await (await kiro.get("/_fake/requests")).json()
    assert [e["kiro"] for e in log] == [{"host": "auth", "region": "eu-west-1"}] * 3
    assert log[0]["path"] == "/auth/eu-west-1/refreshToken"
    assert log[0]["body"] == {"refreshToken": "rt-social"}


async def test_registered_lineage_refreshes_only_at_its_own_region(kiro):
    resp = await kiro.post("/_fake/kiro/lineages", json={"refresh_token": "rt-reg", "region": "us-east-1"})
    assert (await resp.json())["current_refresh_token"] == "rt-reg"

    wrong = await social(kiro, "rt-reg", region="ap-southeast-1")
    assert (wrong.status, await wrong.json()) == (400, INVALID_GRANT)
    right = await social(kiro, "rt-reg", region="us-east-1")
    assert right.status == 200
    assert "us-east-1" in (await right.json())["profileArn"]
    assert (await lineage_view(kiro, "rt-reg"))["invalid_grants"] == 1


async def test_idc_refresh_checks_client_and_fields(kiro):
    registered = {"refresh_token": "rt-idc", "region": "eu-west-1", "auth": "idc"}
    registered |= {"client_id": "cid", "client_secret": "secret"}
    assert (await kiro.post("/_fake/kiro/lineages", json=registered)).status == 200

    ok = await idc(kiro, "rt-idc", region="eu-west-1")
    answer = await ok.json()
    assert ok.status == 200
    assert answer["refreshToken"] == "rt-idc.r1"
    assert (answer["tokenType"], answer["expiresIn"]) == ("Bearer", 3600)
    assert answer["accessToken"].startswith("at-")
    log = await (await kiro.get("/_fake/requests")).json()
    assert log[-1]["kiro"] == {"host": "oidc", "region": "eu-west-1"}
    assert log[-1]["body"]["grantType"] == "refresh_token"

    wrong_secret = await idc(kiro, "rt-idc.r1", region="eu-west-1", clientSecret="other")
    assert (wrong_secret.status, await wrong_secret.json()) == (400, INVALID_GRANT)
    social_host = await social(kiro, "rt-idc.r1", region="eu-west-1")
    assert (await social_host.json()) == INVALID_GRANT
    missing = await idc(kiro, "rt-idc.r1", region="eu-west-1", clientSecret=None)
    assert missing.status == 400
    assert (await missing.json())["error"] == "invalid_request"
    grant = await idc(kiro, "rt-idc.r1", region="eu-west-1", grantType="authorization_code")
    assert (grant.status, (await grant.json())["error"]) == (400, "invalid_request")
    assert (await lineage_view(kiro, "rt-idc"))["current_refresh_token"] == "rt-idc.r1"


async def test_rotation_and_expiry_follow_config(kiro):
    resp = await kiro.post("/_fake/kiro/config", json={"rotate_refresh_tokens": False, "expires_in": 0})
    assert resp.status == 200
    answers = [await (await social(kiro, "rt-static")).json() for _ in range(2)]
    assert [a["refreshToken"] for a in answers] == ["rt-static", "rt-static"]
    assert answers[0]["expiresIn"] == 0
    expired = await chat(kiro, answers[1]["accessToken"], chat_body())
    assert (expired.status, await expired.json()) == (403, INVALID_BEARER)


async def test_concurrent_refreshes_of_one_token_let_only_one_win(kiro):
    script = {"target": "auth", "delay_ms": 50}
    assert (await kiro.post("/_fake/kiro/scripts/rt-race", json=script)).status == 200
    first, second = await asyncio.gather(social(kiro, "rt-race"), social(kiro, "rt-race"))
    assert sorted([first.status, second.status]) == [200, 400]
    assert (await lineage_view(kiro, "rt-race"))["refresh_count"] == 1


async def test_auth_scripts_status_reason_times_and_delay(kiro):
    await kiro.post("/_fake/kiro/scripts/rt-s", json={"target": "auth", "status": 429, "times": 1})
    throttled = await social(kiro, "rt-s")
    assert throttled.status == 429
    assert "error" in await throttled.json()
    assert (await social(kiro, "rt-s")).status == 200

    await kiro.post("/_fake/kiro/scripts/rt-s", json={"target": "auth", "reason": "invalid_grant"})
    for _ in range(2):
        refused = await social(kiro, "rt-s.r1")
        assert (refused.status, await refused.json()) == (400, INVALID_GRANT)
    assert (await lineage_view(kiro, "rt-s"))["invalid_grants"] == 2

    await kiro.post("/_fake/kiro/scripts/rt-s", json={"target": "auth", "delay_ms": 150, "times": 1})
    started = time.monotonic()
    assert (await social(kiro, "rt-s.r1")).status == 200
    assert time.monotonic() - started >= 0.14

    bad = await kiro.post("/_fake/kiro/scripts/rt-s", json={"target": "auth", "fault": "bad_crc"})
    assert bad.status == 400


async def test_revoke_access_and_revoke_lineage(kiro):
    answer = await (await social(kiro, "rt-rev")).json()
    assert (await chat(kiro, answer["accessToken"], chat_body())).status == 200
    await kiro.post("/_fake/kiro/lineages/rt-rev/revoke-access")
    revoked = await chat(kiro, answer["accessToken"], chat_body())
    assert (revoked.status, await revoked.json()) == (403, INVALID_BEARER)

    fresh = await (await social(kiro, answer["refreshToken"])).json()
    assert (await chat(kiro, fresh["accessToken"], chat_body())).status == 200
    await kiro.post("/_fake/kiro/lineages/rt-rev/revoke")
    dead = await social(kiro, fresh["refreshToken"])
    assert (dead.status, await dead.json()) == (400, INVALID_GRANT)
    assert (await kiro.post("/_fake/kiro/lineages/nobody/revoke")).status == 404


async def test_minted_access_token_works_and_binds_the_lineage_region(kiro):
    resp = await kiro.post("/_fake/kiro/access-tokens", json={"lineage": "bench", "region": "eu-west-1"})
    minted = await resp.json()
    assert minted["access_token"].startswith("at-")
    assert (await lineage_view(kiro, "bench"))["region"] == "eu-west-1"
    assert (await chat(kiro, minted["access_token"], chat_body())).status == 200
    anonymous = await (await kiro.post("/_fake/kiro/access-tokens", json={})).json()
    assert anonymous["access_token"] != minted["access_token"]
    assert (await chat(kiro, anonymous["access_token"], chat_body())).status == 200


async def test_missing_or_unknown_bearer_is_403(kiro):
    for headers in ({}, {"Authorization": "Bearer at-nope"}):
        resp = await kiro.post("/q/us-east-1/generateAssistantResponse", json=chat_body(), headers=headers)
        assert (resp.status, await resp.json()) == (403, INVALID_BEARER)


# --- chat answers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("slice_bytes", [0, 7, -1])
async def test_plain_answer_is_valid_frames_in_order(kiro, slice_bytes):
    await kiro.post("/_fake/kiro/config", json={"slice_bytes": slice_bytes, "seed": 1})
    body = chat_body("Say hello")
    messages = await stream_events(kiro, body)

    assert [m.event_type for m in messages] == [
        *["assistantResponseEvent"] * 5,
        "meteringEvent",
        "contextUsageEvent",
    ]
    assert {(m.message_type, m.headers[":content-type"]) for m in messages} == {("event", "application/json")}
    assert text_of(messages) == "Hello from the fake"
    assert payloads(messages, "meteringEvent") == [{"unit": "credit", "unitPlural": "credits", "usage": 0.01}]
    chars = len("Say hello")  # ids and enums (modelId, origin, conversationId) do not count
    (usage,) = payloads(messages, "contextUsageEvent")
    assert usage["contextUsagePercentage"] == pytest.approx(chars / 4 / 200_000 * 100)


async def test_generic_config_text_chunks_and_log_switch(kiro):
    config = {"text": "One two three", "stream_chunks": 3, "log_requests": False}
    await kiro.post("/_fake/config", json=config)
    messages = await stream_events(kiro, chat_body())
    assert [p["content"] for p in payloads(messages, "assistantResponseEvent")] == ["One ", "two ", "three"]
    assert await (await kiro.get("/_fake/requests")).json() == []


async def test_chat_request_is_logged_with_host_and_api_region(kiro):
    token = await mint(kiro)
    assert (await chat(kiro, token, chat_body(), api_region="eu-central-1")).status == 200
    (entry,) = await (await kiro.get("/_fake/requests")).json()
    assert entry["kiro"] == {"host": "q", "region": "eu-central-1"}
    assert entry["headers"]["authorization"] == f"Bearer {token}"
    assert entry["body"]["conversationState"]["currentMessage"]["userInputMessage"]["modelId"] == MODEL


async def test_tool_call_fragments_reassemble(kiro):
    body = chat_body("What is the weather in Paris?", tools=[WEATHER_TOOL])
    messages = await stream_events(kiro, body)
    kinds = [m.event_type for m in messages]
    first_tool = kinds.index("toolUseEvent")
    assert set(kinds[:first_tool]) == {"assistantResponseEvent"}
    assert kinds[-2:] == ["meteringEvent", "contextUsageEvent"]

    tool = payloads(messages, "toolUseEvent")
    fragments, stop = tool[:-1], tool[-1]
    assert len(fragments) >= 3
    assert json.loads("".join(f["input"] for f in fragments)) == {"city": "Paris"}
    assert {(f["name"], f["toolUseId"]) for f in tool} == {("get_weather", stop["toolUseId"])}
    assert stop["stop"] is True and "input" not in stop
    assert len({next(iter(f)) for f in fragments}) > 1  # keys come in varied order


async def test_no_tool_call_without_tools_or_weather(kiro):
    without_tools = await stream_events(kiro, chat_body("What is the weather in Paris?"))
    not_weather = await stream_events(kiro, chat_body("Say hello", tools=[WEATHER_TOOL]))
    for messages in (without_tools, not_weather):
        assert "toolUseEvent" not in [m.event_type for m in messages]


@pytest.mark.parametrize("where", ["history", "current"])
async def test_thinking_tags_are_cut_across_events(kiro, where):
    system = "You are helpful. <thinking_mode>enabled</thinking_mode>"
    if where == "history":
        body = chat_body("Say hello", history=[user(system), assistant("OK")])
    else:
        body = chat_body(system + "\nSay hello")
    messages = await stream_events(kiro, body)
    pieces = [p["content"] for p in payloads(messages, "assistantResponseEvent")]
    assert "".join(pieces) == f"<thinking>{THINKING_TEXT}</thinking>Hello from the fake"
    assert not any("<thinking>" in p or "</thinking>" in p for p in pieces)


async def test_tool_results_are_answered_and_must_pair_with_tool_uses(kiro):
    history = [
        user("What is the weather in Paris?"),
        assistant("", [{"name": "get_weather", "toolUseId": "tooluse_1", "input": {"city": "Paris"}}]),
    ]
    result = {"content": [{"text": "Sunny, 21°C"}], "status": "success", "toolUseId": "tooluse_1"}
    body = chat_body("weather", history=history, tools=[WEATHER_TOOL], tool_results=[result])
    messages = await stream_events(kiro, body)
    assert text_of(messages) == "The tool said: Sunny, 21°C"
    assert "toolUseEvent" not in [m.event_type for m in messages]

    stray = {**result, "toolUseId": "tooluse_other"}
    unpaired = chat_body("", history=history, tools=[WEATHER_TOOL], tool_results=[stray])
    resp = await chat(kiro, await mint(kiro), unpaired)
    assert (resp.status, await resp.json()) == (400, IMPROPER)


async def test_tool_uses_in_history_need_tools_in_the_current_message(kiro):
    """The stub-tool rule: a client that drops its tools must still declare the ones used in history."""
    history = [user("weather?"), assistant("", [{"name": "get_weather", "toolUseId": "t1", "input": {}}])]
    result = [{"content": [{"text": "rain"}], "status": "success", "toolUseId": "t1"}]
    token = await mint(kiro)
    bare = await chat(kiro, token, chat_body("thanks", history=history, tool_results=result))
    assert (bare.status, await bare.json()) == (400, IMPROPER)
    stub = chat_body("thanks", history=history, tools=[WEATHER_TOOL], tool_results=result)
    stubbed = await chat(kiro, token, stub)
    assert stubbed.status == 200


def _long_name_tool():
    spec = {**WEATHER_TOOL["toolSpecification"], "name": "t" * 65}
    return {"toolSpecification": spec}


def _schemaless_tool():
    spec = {**WEATHER_TOOL["toolSpecification"], "inputSchema": {"json": "object"}}
    return {"toolSpecification": spec}


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        pytest.param(chat_body(model="claude-fake-9"), 400, IMPROPER, id="unknown-model"),
        pytest.param({"conversationState": {"currentMessage": {}}}, 400, IMPROPER, id="no-user-message"),
        pytest.param(chat_body(content=["list"]), 400, IMPROPER, id="content-not-string"),
        pytest.param(
            chat_body(history=[assistant("hi"), user("x")]), 400, IMPROPER, id="history-starts-assistant"
        ),
        pytest.param(chat_body(history=[user("a"), user("b")]), 400, IMPROPER, id="history-not-alternating"),
        pytest.param(chat_body(history=[user("a")]), 400, IMPROPER, id="history-ends-with-user"),
        pytest.param(chat_body(tools=[_long_name_tool()]), 400, IMPROPER, id="tool-name-too-long"),
        pytest.param(chat_body(tools=[_schemaless_tool()]), 400, IMPROPER, id="tool-schema-not-object"),
        pytest.param(
            chat_body(systemPrompt="be brief"),
            400,
            {"message": "Improperly formed request.", "reason": "REQUEST_BODY_INVALID"},
            id="top-level-system-prompt",
        ),
        pytest.param(
            chat_body(profileArn="arn:aws:codewhisperer:eu-west-1:699475941385:profile/FAKE"),
            403,
            {"message": "User is not authorized to make this call.", "reason": None},
            id="profile-arn-other-region",
        ),
    ],
)
async def test_requests_the_real_host_refuses(kiro, body, status, answer):
    resp = await chat(kiro, await mint(kiro, region="us-east-1"), body)
    assert (resp.status, await resp.json()) == (status, answer)


@pytest.mark.parametrize(
    ("image", "status"),
    [
        ({"format": "png", "source": {"bytes": PNG}}, 200),
        ({"format": "bmp", "source": {"bytes": PNG}}, 400),
        ({"format": "png", "source": {"bytes": "not base64!"}}, 400),
        ({"format": "png", "bytes": PNG}, 400),
    ],
)
async def test_image_shape_is_checked(kiro, image, status):
    body = chat_body("What is in the picture?")
    body["conversationState"]["currentMessage"]["userInputMessage"]["images"] = [image]
    resp = await chat(kiro, await mint(kiro), body)
    assert resp.status == status


async def test_matching_profile_arn_is_accepted(kiro):
    arn = "arn:aws:codewhisperer:eu-west-1:699475941385:profile/FAKE"
    resp = await chat(kiro, await mint(kiro, region="eu-west-1"), chat_body(profileArn=arn))
    assert resp.status == 200


async def test_input_over_max_chars_is_too_long(kiro):
    await kiro.post("/_fake/kiro/config", json={"max_input_chars": 20})
    token = await mint(kiro)
    assert (await chat(kiro, token, chat_body("x" * 20))).status == 200
    resp = await chat(kiro, token, chat_body("x" * 21))
    too_long = {"message": "Input is too long.", "reason": "CONTENT_LENGTH_EXCEEDS_THRESHOLD"}
    assert (resp.status, await resp.json()) == (400, too_long)


# --- chat scripts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "status", "answer"),
    [
        ("invalid_bearer", 403, INVALID_BEARER),
        (
            "throttled",
            429,
            {
                "message": "Too many requests, please wait before trying again.",
                "reason": "SERVICE_REQUEST_RATE_EXCEEDED",
            },
        ),
        ("monthly_quota", 402, {"message": "You have reached the limit.", "reason": "MONTHLY_REQUEST_COUNT"}),
        ("too_long", 400, {"message": "Input is too long.", "reason": "CONTENT_LENGTH_EXCEEDS_THRESHOLD"}),
        ("improperly_formed", 400, IMPROPER),
    ],
)
async def test_chat_reason_presets(kiro, reason, status, answer):
    token = await mint(kiro, lineage="rt-p")
    resp = await kiro.post("/_fake/kiro/scripts/rt-p", json={"target": "chat", "reason": reason, "times": 1})
    assert (await resp.json())["scripts"]["chat"]["reason"] == reason
    scripted = await chat(kiro, token, chat_body())
    assert (scripted.status, await scripted.json()) == (status, answer)
    assert (await chat(kiro, token, chat_body())).status == 200  # times: 1 is used up


async def test_chat_script_applies_only_to_its_lineage_and_clears(kiro):
    mine, other = await mint(kiro, lineage="rt-a"), await mint(kiro, lineage="rt-b")
    await kiro.post("/_fake/kiro/scripts/rt-a", json={"target": "chat", "status": 500})
    assert (await chat(kiro, mine, chat_body())).status == 500
    assert (await chat(kiro, other, chat_body())).status == 200
    cleared = await kiro.post("/_fake/kiro/scripts/rt-a")
    assert (await cleared.json())["scripts"] == {}
    assert (await chat(kiro, mine, chat_body())).status == 200


async def test_fault_cut_mid_tool_drops_the_connection_before_stop(kiro):
    token = await mint(kiro, lineage="rt-f")
    await kiro.post("/_fake/kiro/scripts/rt-f", json={"target": "chat", "fault": "cut_mid_tool"})
    resp = await chat(kiro, token, chat_body("What is the weather in Paris?", tools=[WEATHER_TOOL]))
    assert resp.status == 200
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async for piece in resp.content.iter_any():
            received += piece
    decoder = EventStreamDecoder()
    messages = decoder.feed(bytes(received))
    kinds = [m.event_type for m in messages]
    assert "toolUseEvent" in kinds
    assert not any(p.get("stop") for p in payloads(messages, "toolUseEvent"))
    assert "contextUsageEvent" not in kinds


async def test_fault_bad_crc_fails_the_decoders_crc_check(kiro):
    token = await mint(kiro, lineage="rt-f")
    await kiro.post("/_fake/kiro/scripts/rt-f", json={"target": "chat", "fault": "bad_crc", "times": 1})
    resp = await chat(kiro, token, chat_body())
    assert resp.status == 200
    raw = await resp.read()
    with pytest.raises(EventStreamError, match="message CRC mismatch"):
        EventStreamDecoder().feed(raw)
    assert len(await stream_events(kiro, chat_body(), token)) == 7  # the next answer is clean again


async def test_fault_exception_frame_follows_some_text(kiro):
    token = await mint(kiro, lineage="rt-f")
    await kiro.post("/_fake/kiro/scripts/rt-f", json={"target": "chat", "fault": "exception_frame"})
    messages = await stream_events(kiro, chat_body(), token)
    *text, last = messages
    assert text and {m.event_type for m in text} == {"assistantResponseEvent"}
    assert last.message_type == "exception"
    assert last.exception_type == "ContentLengthExceededException"
    assert "contextUsageEvent" not in [m.event_type for m in messages]


async def test_chunk_delay_spaces_the_writes(kiro):
    await kiro.post("/_fake/config", json={"chunk_delay_ms": 30, "stream_chunks": 2})
    started = time.monotonic()
    messages = await stream_events(kiro, chat_body())
    assert len(messages) == 4
    assert time.monotonic() - started >= 0.1  # 5 pieces, 4 gaps of 30 ms


# --- frames -----------------------------------------------------------------------------------------------


def test_encoder_matches_the_proxy_codec_both_ways():
    headers = {":event-type": "assistantResponseEvent", ":content-type": "application/json"}
    payload = '{"content":"héllo"}'.encode()
    ours = _kiro_frames.frame(b"".join(_kiro_frames.header(k, v) for k, v in headers.items()), payload)
    assert ours == encode_message(headers, payload)
    (decoded,) = EventStreamDecoder().feed(ours)
    assert (decoded.headers, decoded.payload) == (headers, payload)


def test_random_slices_cut_inside_every_frame():
    frames = [_kiro_frames.event("assistantResponseEvent", b'{"content":"%d"}' % i) for i in range(6)]
    pieces = _kiro_frames.slices(frames, 0, random.Random(7))
    assert b"".join(pieces) == b"".join(frames)
    assert len(pieces) == len(frames) + 1
    ends = {sum(len(p) for p in pieces[: i + 1]) for i in range(len(pieces))}
    frame_ends = {sum(len(f) for f in frames[: i + 1]) for i in range(len(frames))}
    assert ends & frame_ends == {len(b"".join(frames))}  # no write ends exactly on an inner frame edge
    assert pieces == _kiro_frames.slices(frames, 0, random.Random(7))  # seedable


def test_fixed_and_whole_frame_slices():
    frames = [_kiro_frames.event("meteringEvent", b"{}")] * 3
    fixed = _kiro_frames.slices(frames, 10, random.Random())
    assert b"".join(fixed) == b"".join(frames)
    assert {len(p) for p in fixed[:-1]} == {10}
    assert _kiro_frames.slices(frames, -1, random.Random()) == frames


# --- control API ------------------------------------------------------------------------------------------


async def test_kiro_config_is_validated_and_shown(kiro):
    shown = await (await kiro.get("/_fake/kiro/config")).json()
    assert shown["config"]["slice_bytes"] == 0 and shown["config"]["max_input_chars"] == 400_000
    for bad in ({"slice_bytes": -2}, {"expires_in": "1"}, {"rotate": True}, {"rotate_refresh_tokens": 1}):
        assert (await kiro.post("/_fake/kiro/config", json=bad)).status == 400
    merged = await (await kiro.post("/_fake/kiro/config", json={"slice_bytes": -1})).json()
    assert merged["slice_bytes"] == -1
    assert (await kiro.post("/_fake/kiro/scripts/x", json={"target": "chat", "reason": "nope"})).status == 400


@pytest.mark.parametrize("path", ["/_fake/reset", "/_fake/kiro/reset"])
async def test_reset_clears_the_kiro_state(kiro, path):
    await social(kiro, "rt-reset")
    await kiro.post("/_fake/kiro/config", json={"expires_in": 5})
    await kiro.post("/_fake/kiro/scripts/rt-reset", json={"target": "chat", "status": 500})
    assert (await kiro.post(path)).status == 200
    assert (await kiro.get("/_fake/kiro/lineages/rt-reset")).status == 404
    shown = await (await kiro.get("/_fake/kiro/config")).json()
    assert (shown["config"]["expires_in"], shown["scripts"], shown["lineages"]) == (3600, {}, [])
    assert (await (await social(kiro, "rt-reset")).json())["refreshToken"] == "rt-reset.r1"


async def test_runs_as_a_process():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.kiro_upstream",
        "--port",
        "0",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        word, port = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().split()
        assert word == "LISTENING"
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/auth/us-east-1/refreshToken"
            async with session.post(url, json={"refreshToken": "rt-proc"}) as resp:
                assert (await resp.json())["refreshToken"] == "rt-proc.r1"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
