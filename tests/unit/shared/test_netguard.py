import pytest

from services.account_service.accounts.service import ensure_reachable_upstream, parse_custom
from services.proxy_service.upstreams.guard import GuardedResolver, InternalAddressRefused
from shared.errors import Unprocessable
from shared.netguard import is_internal


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_internal_addresses(address):
    assert is_internal(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "104.18.6.192", "2606:4700::6810:1"])
def test_public_addresses(address):
    assert not is_internal(address)


@pytest.mark.parametrize(
    "base", ["http://localhost:8080/v1", "http://10.0.0.5/v1", "http://169.254.169.254/latest"]
)
async def test_an_internal_api_base_is_refused_naming_the_field(base):
    spec = parse_custom({"api_base": base, "api_key": "sk-x", "format": "openai"})
    with pytest.raises(Unprocessable) as refused:
        await ensure_reachable_upstream(spec, allow_private=False)
    assert refused.value.param == "api_base"
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


async def test_the_proxy_resolver_refuses_names_that_resolve_inward():
    resolver = GuardedResolver()
    try:
        with pytest.raises(InternalAddressRefused):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
