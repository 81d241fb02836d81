"""jimeng-api's HTTP-200 failure envelopes: what each code means for the account and the client."""

from __future__ import annotations

import orjson
import pytest

from services.proxy_service.upstreams.dreamina import envelope

CREDITS_1006 = "[请求失败]: Not enough credits left (错误码: 1006)"


@pytest.mark.parametrize(
    ("code", "message", "outcome", "retryable", "status"),
    [
        (-2002, "[登录失效]: check login error", "credential_rejected", True, 502),
        (-2009, "[积分不足]: credit prededuct not enough", "exhausted", True, 429),
        (-2001, CREDITS_1006, "exhausted", True, 429),
        (
            -2001,
            "[请求失败]: Not enough credits left (错误码：1006)",
            "exhausted",
            True,
            429,
        ),  # full-width colon
        (-2001, "[请求失败]: shark not pass (错误码: 1019)", "upstream_error", True, 502),
        (-2001, "[请求失败]: x (错误码: 10060)", "upstream_error", True, 502),
        (-1000, '[请求有误]: 国际版不支持模型 "jimeng-5.0"', "client_error", False, 400),
        (-2000, "Params body.prompt invalid", "client_error", False, 400),
        (-2003, "[文件URL无效]", "client_error", False, 400),
        (-2004, "[文件超出大小]", "client_error", False, 400),
        (-2006, "[内容违规]", "client_error", False, 400),
        (-2007, "[图像生成失败]", "upstream_error", True, 502),
        (-2008, "[视频生成失败]", "upstream_error", True, 502),
        (-9999, "something new", "upstream_error", True, 502),
    ],
)
def test_each_code_has_its_outcome(code, message, outcome, retryable, status) -> None:
    verdict = envelope.classify(code, message)
    assert (verdict.outcome, verdict.retryable, verdict.status) == (outcome, retryable, status)


def test_only_a_nonzero_integer_code_is_a_failure() -> None:
    assert envelope.read(b'{"code":-2002,"message":"dead","data":null}') == (-2002, "dead")
    assert envelope.read(b'{"code":-2002,"data":null}') == (-2002, "")
    for raw in (
        b'{"created":1,"data":[{"url":"u"}]}',
        b'{"code":0,"data":[]}',
        b"<html>",
        b"[1]",
        b'{"code":true}',
    ):
        assert envelope.read(raw) is None


def test_the_clients_error_carries_the_upstream_message_in_openais_shape() -> None:
    error = orjson.loads(envelope.openai_error(-2001, CREDITS_1006))["error"]
    assert error == {
        "message": CREDITS_1006,
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    client = orjson.loads(envelope.openai_error(-1000, "[请求有误]: ratio"))["error"]
    assert client["type"] == "invalid_request_error" and client["message"] == "[请求有误]: ratio"
