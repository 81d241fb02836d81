"""The upstream Authorization of a Dreamina account: the region prefix, and a foreign one left alone."""

from __future__ import annotations

from dataclasses import replace

from structlog.testing import capture_logs

from services.proxy_service.upstreams.dreamina.auth import authorization
from shared.internal_client import Allocation, Upstream

SID = "0123456789abcdef0123456789abcdef"


def _allocation(region: str | None, sessionid: str, account_id: str = "acc-1") -> Allocation:
    upstream = Upstream(
        url=None, credential=sessionid, format="jimeng", provider="dreamina", model=None, region=region
    )  # type: ignore[arg-type]
    return Allocation(
        lease_id="lease-1",
        api_key_id="key-1",
        user_id="user-1",
        account_id=account_id,
        account_kind="dreamina",
        region=region,
        upstream=upstream,
    )


def test_a_cn_sessionid_is_sent_raw() -> None:
    assert authorization(_allocation("cn", SID)) == f"Bearer {SID}"


def test_another_region_is_prefixed_once() -> None:
    for region in ("us", "hk", "jp", "sg"):
        assert authorization(_allocation(region, SID)) == f"Bearer {region}-{SID}"
        assert authorization(_allocation(region, f"{region}-{SID}")) == f"Bearer {region}-{SID}"
        assert (
            authorization(_allocation(region, f"{region.upper()}-{SID}")) == f"Bearer {region.upper()}-{SID}"
        )


def test_an_account_without_a_region_is_cn() -> None:
    assert authorization(_allocation(None, SID)) == f"Bearer {SID}"


def test_another_short_prefix_is_left_alone_and_logged_once_without_the_secret() -> None:
    with capture_logs() as logs:
        for _ in range(3):
            assert (
                authorization(_allocation("hk", f"us-{SID}", account_id="acc-foreign")) == f"Bearer us-{SID}"
            )
    noted = [entry for entry in logs if entry["event"] == "proxy.dreamina_foreign_prefix"]
    assert len(noted) == 1
    assert noted[0]["account_id"] == "acc-foreign" and noted[0]["prefix"] == "us-"
    assert SID not in repr(noted[0])


def test_an_egress_proxy_travels_in_the_token_as_jimeng_api_expects() -> None:
    allocation = _allocation("us", SID)
    proxy = "socks5://u:p%40ss@proxy.example.net:1080"
    proxied = replace(allocation, upstream=replace(allocation.upstream, proxy=proxy))
    assert authorization(proxied) == f"Bearer {proxy}@us-{SID}"
