"""Where and how a Dreamina account is called: the operator's jimeng-api or the account's own, the
route's jimeng path, and nothing of the client's own headers."""

from __future__ import annotations

import pytest

from services.proxy_service.formats.client_format import (
    IMAGE_COMPOSITIONS,
    IMAGE_EDITS,
    IMAGE_GENERATIONS,
    OPENAI,
    VIDEO_GENERATIONS,
)
from services.proxy_service.relay.media_request import MediaRequest
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.upstreams.base import UnsupportedUpstream
from services.proxy_service.upstreams.dreamina import DreaminaUpstream, api_root
from shared.internal_client import Allocation, Upstream

SID = "0123456789abcdef0123456789abcdef"


def _allocation(region: str = "us", url: str | None = None) -> Allocation:
    upstream = Upstream(
        url=url, credential=SID, format="jimeng", provider="dreamina", model=None, region=region
    )  # type: ignore[arg-type]
    return Allocation("lease", "key", "user", "acc", "dreamina", region, upstream)


def _request() -> MediaRequest:
    fields = {"prompt": "a cat", "model": "jimeng-4.0"}
    return MediaRequest(
        api_key="pg-secret", fields=fields, body=b"{}", content_type="application/json", video_seconds=None
    )


UPSTREAM = DreaminaUpstream(api_url="http://jimeng.internal:5100/", first_byte_timeout_s=900)


def test_the_operators_server_is_trusted_and_an_accounts_own_is_not() -> None:
    call = UPSTREAM.prepare(_allocation(), _request(), IMAGE_GENERATIONS, correlation_id="cid-1")
    assert call.target.url == "http://jimeng.internal:5100/v1/images/generations"
    assert call.target.trusted
    assert call.first_byte_timeout_s == 900
    own = UPSTREAM.prepare(
        _allocation(url="https://my-jimeng.example/v1"), _request(), IMAGE_GENERATIONS, correlation_id=None
    )
    assert own.target.url == "https://my-jimeng.example/v1/images/generations"
    assert not own.target.trusted


def test_each_route_has_its_jimeng_path() -> None:
    paths = {
        fmt.route: UPSTREAM.prepare(_allocation(), _request(), fmt, correlation_id=None).target.url.split(
            ":5100"
        )[1]
        for fmt in (IMAGE_GENERATIONS, IMAGE_EDITS, IMAGE_COMPOSITIONS, VIDEO_GENERATIONS)
    }
    assert paths == {
        "/v1/images/generations": "/v1/images/generations",
        "/v1/images/edits": "/v1/images/compositions",
        "/v1/images/compositions": "/v1/images/compositions",
        "/v1/videos/generations": "/v1/videos/generations",
    }


def test_only_its_own_headers_are_sent() -> None:
    call = UPSTREAM.prepare(_allocation("us"), _request(), IMAGE_GENERATIONS, correlation_id="cid-1")
    assert call.target.headers == {
        "content-type": "application/json",
        "accept-encoding": "identity",
        "authorization": f"Bearer us-{SID}",
        "x-correlation-id": "cid-1",
    }
    assert "pg-secret" not in repr(call.target.headers)


def test_a_chat_call_is_not_for_a_dreamina_account() -> None:
    chat = ClientRequest(api_key="pg", raw=b"{}", body={"model": "m", "messages": []})
    with pytest.raises(UnsupportedUpstream):
        UPSTREAM.prepare(_allocation(), chat, OPENAI, correlation_id=None)


def test_api_root_drops_a_trailing_slash_and_v1() -> None:
    assert api_root("http://h:5100/") == "http://h:5100"
    assert api_root("https://h/jimeng/v1/") == "https://h/jimeng"
