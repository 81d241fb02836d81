from __future__ import annotations

import orjson
import pytest

from services.proxy_service.formats import CLAUDE, OPENAI, Passthrough, UnsupportedConversion, bridge_for

RAW = b'{"model": "gpt-4o",  "messages": [{"role": "user", "content": "hi"}], "stream": true}'


def test_without_override_the_client_bytes_are_forwarded_untouched() -> None:
    bridge = Passthrough("gpt-4o", None)
    assert bridge.request_body(RAW, orjson.loads(RAW)) is RAW
    assert not bridge.rewrites


def test_an_override_equal_to_the_client_model_changes_nothing() -> None:
    bridge = Passthrough("gpt-4o", "gpt-4o")
    assert bridge.request_body(RAW, orjson.loads(RAW)) is RAW
    assert not bridge.rewrites


def test_an_override_replaces_the_model_and_keeps_everything_else() -> None:
    body = orjson.loads(RAW)
    sent = orjson.loads(Passthrough("gpt-4o", "gpt-4.1-mini").request_body(RAW, body))
    assert sent == {**body, "model": "gpt-4.1-mini"}
    assert body["model"] == "gpt-4o"  # the client's parsed body is not mutated


def test_response_model_is_rewritten_back_to_the_client_model() -> None:
    answer = {"id": "x", "model": "gpt-4.1-mini-2025", "usage": {"prompt_tokens": 1}}
    raw = orjson.dumps(answer)
    out = Passthrough("gpt-4o", "gpt-4.1-mini").response_body(raw, orjson.loads(raw))
    assert orjson.loads(out) == {**answer, "model": "gpt-4o"}


def test_response_without_override_is_returned_as_is() -> None:
    raw = b'{"model":"other"}'
    assert Passthrough("gpt-4o", None).response_body(raw, orjson.loads(raw)) is raw


def test_response_that_is_not_json_is_returned_as_is() -> None:
    assert Passthrough("a", "b").response_body(b"not json", None) == b"not json"


def test_stream_chunks_get_the_client_model_with_or_without_a_space() -> None:
    bridge = Passthrough("claude-sonnet-4", "claude-upstream")
    chunk = (
        b'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-upstream"}}\n\n'
        b'data: {"model": "claude-upstream", "x": 1}\n\n'
    )
    assert bridge.stream_chunk(chunk) == (
        b'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4"}}\n\n'
        b'data: {"model": "claude-sonnet-4", "x": 1}\n\n'
    )


def test_stream_rewrite_leaves_other_models_and_text_alone() -> None:
    bridge = Passthrough("m", "up")
    chunk = b'data: {"model":"up-2","text":"model up"}\n\n'
    assert bridge.stream_chunk(chunk) == chunk


def test_same_format_pairs_get_a_passthrough_bridge() -> None:
    assert isinstance(bridge_for(OPENAI, "openai", client_model="m", upstream_model=None), Passthrough)
    assert isinstance(bridge_for(CLAUDE, "claude", client_model="m", upstream_model="x"), Passthrough)


def test_an_unknown_upstream_format_is_not_supported() -> None:
    with pytest.raises(UnsupportedConversion):
        bridge_for(OPENAI, "kiro", client_model="m", upstream_model=None)


def test_stream_hooks_add_nothing_and_errors_pass_through() -> None:
    bridge = Passthrough("m", None)
    assert (bridge.stream_start(), bridge.stream_end(), bridge.stream_failed) == (b"", b"", False)
    assert bridge.error_body(b"boom", 500) == b"boom"


def test_a_request_cleaner_that_changes_nothing_keeps_the_client_bytes() -> None:
    bridge = Passthrough("gpt-4o", None, clean=lambda body: None)
    assert bridge.request_body(RAW, orjson.loads(RAW)) is RAW


def test_a_cleaned_request_is_sent_with_the_account_model() -> None:
    bridge = Passthrough("gpt-4o", "up", clean=lambda body: {"model": body["model"], "messages": []})
    assert orjson.loads(bridge.request_body(RAW, orjson.loads(RAW))) == {"model": "up", "messages": []}
