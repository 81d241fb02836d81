import pytest

from services.account_service.accounts.service import ensure_reachable_upstream, parse_custom
from shared.errors import Unprocessable
from shared.netguard import embedded_ipv4, is_internal


@pytest.mark.parametrize(
    "address",
    [
        "100.100.100.200",  # Alibaba Cloud metadata, in carrier-grade NAT 100.64.0.0/10 (not `is_private`)
        "100.64.0.1",
        "169.254.169.254",  # AWS/GCP/Azure metadata
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.9.10",
        "0.0.0.0",
        "224.0.0.1",  # multicast counts as global in `ipaddress`
        "233.252.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "198.18.0.1",  # benchmarking
        "::1",
        "::",
        "fc00::",
        "fd00::1",
        "fe80::1",
        "fe80::1%eth0",
        "ff02::1",  # multicast
        "2001:db8::1",  # documentation
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:127.0.0.1",
        "::ffff:100.100.100.200",
        "::10.0.0.1",  # IPv4-compatible (deprecated)
        "2002:0a00:0001::",  # 6to4 of 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::6464:64c8",  # NAT64 of 100.100.100.200
        "64:ff9b:1::808:808",  # local-use NAT64 prefix: never global
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45
        "not-an-address",  # fails closed
    ],
)
def test_addresses_that_are_not_globally_routable_are_internal(address):
    assert is_internal(address)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "104.18.6.192",
        "100.128.0.1",  # just past 100.64.0.0/10
        "2606:4700::1111",
        "2606:4700::6810:1",
        "::ffff:8.8.8.8",
        "2002:808:808::1",  # 6to4 of 8.8.8.8
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    ],
)
def test_globally_routable_addresses_are_not_internal(address):
    assert not is_internal(address)


def test_the_ipv4_inside_an_ipv6_address_is_what_is_judged():
    import ipaddress

    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("::ffff:10.0.0.1"))] == ["10.0.0.1"]
    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("2002:0a00:0001::"))] == ["10.0.0.1"]
    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("64:ff9b::a00:1"))] == ["10.0.0.1"]
    assert len(embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2"))) == 2
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1111")) == ()


@pytest.mark.parametrize(
    "base",
    [
        "http://localhost:8080/v1",
        "http://10.0.0.5/v1",
        "http://169.254.169.254/latest",
        "http://100.100.100.200/latest/meta-data",
        "http://[::ffff:10.0.0.1]/v1",
        "http://[2002:a00:1::]/v1",
        "http://[64:ff9b::a00:1]/v1",
        "http://2130706433/v1",  # 127.0.0.1 as one number
    ],
)
async def test_an_internal_api_base_is_refused_naming_the_field(base):
    spec = parse_custom({"api_base": base, "api_key": "sk-x", "format": "openai"})
    with pytest.raises(Unprocessable) as refused:
        await ensure_reachable_upstream(spec, allow_private=False)
    assert refused.value.param == "api_base"
    assert refused.value.code == "upstream_address_refused"
    assert "POOLGATE_ALLOW_PRIVATE_UPSTREAMS" in refused.value.message


async def test_internal_api_bases_pass_when_the_operator_allows_them_and_public_ones_always():
    await ensure_reachable_upstream(
        parse_custom({"api_base": "http://127.0.0.1:9/v1", "api_key": "sk-x", "format": "openai"}),
        allow_private=True,
    )
    await ensure_reachable_upstream(
        parse_custom({"api_base": "https://8.8.8.8/v1", "api_key": "sk-x", "format": "openai"}),
        allow_private=False,
    )
