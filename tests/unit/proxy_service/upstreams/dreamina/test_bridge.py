"""The jimeng bridge: answers pass untouched, envelopes become failures, counts of what was produced."""

from __future__ import annotations

import orjson
import pytest

from services.proxy_service.formats import FailedAnswer
from services.proxy_service.upstreams.dreamina.bridge import JimengBridge

FOUR = orjson.dumps({"created": 1, "data": [{"url": f"https://x.invalid/{i}.png"} for i in range(4)]})


def test_a_success_passes_untouched_and_counts_its_images() -> None:
    bridge = JimengBridge("image", video_seconds=None)
    assert bridge.response_body(FOUR, None) is FOUR
    assert bridge.produced == {"images": 4}


def test_a_video_counts_the_seconds_asked_for_per_video() -> None:
    video = orjson.dumps({"created": 1, "data": [{"url": "https://x.invalid/v.mp4", "revised_prompt": "p"}]})
    bridge = JimengBridge("video", video_seconds=5.0)
    bridge.response_body(video, None)
    assert bridge.produced == {"video_seconds": 5.0}
    unknown = JimengBridge("video", video_seconds=None)
    unknown.response_body(video, None)
    assert unknown.produced is None


def test_an_envelope_is_a_failed_answer_with_its_verdict_and_code() -> None:
    raw = b'{"code":-2002,"message":"[\xe7\x99\xbb\xe5\xbd\x95\xe5\xa4\xb1\xe6\x95\x88]","data":null}'
    with pytest.raises(FailedAnswer) as failed:
        JimengBridge("image", video_seconds=None).response_body(raw, None)
    assert failed.value.verdict == ("credential_rejected", True)
    assert failed.value.upstream_code == -2002
    assert failed.value.status == 502


def test_an_answer_without_items_is_a_retryable_failure() -> None:
    for raw in (b'{"created":1,"data":[]}', b"not json", b"[]"):
        with pytest.raises(FailedAnswer) as failed:
            JimengBridge("image", video_seconds=None).response_body(raw, None)
        assert failed.value.verdict == ("upstream_error", True)


def test_errors_are_in_openais_shape() -> None:
    bridge = JimengBridge("image", video_seconds=None)
    from_envelope = orjson.loads(bridge.error_body(b'{"code":-2006,"message":"blocked","data":null}', 400))
    assert from_envelope["error"]["message"] == "blocked"
    from_gateway = orjson.loads(bridge.error_body(b"<html>502 Bad Gateway</html>", 502))
    assert from_gateway["error"]["message"] == "<html>502 Bad Gateway</html>"
    assert from_gateway["error"]["type"] == "server_error"
