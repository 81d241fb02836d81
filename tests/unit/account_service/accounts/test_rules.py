"""The account rules of DESIGN.md §2, as properties."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.account_service.accounts import rules
from shared.dreamina import foreign_prefix

regions = st.sampled_from(rules.DREAMINA_REGIONS)
international = st.sampled_from([r for r in rules.DREAMINA_REGIONS if r != "cn"])


@given(region=regions, sessionid=st.text())
def test_upstream_sessionid_is_idempotent(region, sessionid):
    once = rules.upstream_sessionid(region, sessionid)
    assert rules.upstream_sessionid(region, once) == once


@given(sessionid=st.text())
def test_cn_sessionid_is_used_raw(sessionid):
    assert rules.upstream_sessionid("cn", sessionid) == sessionid


@given(region=international, sessionid=st.text())
def test_other_regions_get_exactly_one_prefix(region, sessionid):
    result = rules.upstream_sessionid(region, sessionid)
    # Either unchanged (it already carried a short prefix) or the prefix added once: never doubled.
    assert result in (sessionid, f"{region}-{sessionid}")
    if not re.match(r"[A-Za-z]{1,3}-", sessionid):
        assert result == f"{region}-{sessionid}"


@given(region=international, sessionid=st.text())
def test_an_already_prefixed_sessionid_is_never_prefixed_again(region, sessionid):
    for prefixed in (f"{region}-{sessionid}", f"{region.upper()}-{sessionid}"):
        assert rules.upstream_sessionid(region, prefixed) == prefixed


@pytest.mark.parametrize("given_sid", ["US-abc", "us-abc", "Us-abc"])
def test_an_existing_prefix_is_recognised_whatever_its_case(given_sid):
    assert rules.upstream_sessionid("us", given_sid) == given_sid


def test_another_short_prefix_is_trusted_and_left_alone():
    # reference/dreamina.md §1.3: `us-…` on an `hk` account is kept as it is (and logged by the proxy).
    assert rules.upstream_sessionid("hk", "us-abc") == "us-abc"
    assert foreign_prefix("hk", "us-abc") == "us-"
    assert foreign_prefix("hk", "hk-abc") is None
    assert foreign_prefix("cn", "us-abc") is None


def test_a_raw_sessionid_gets_the_region_prefix():
    assert rules.upstream_sessionid("us", "0123456789abcdef") == "us-0123456789abcdef"
    assert rules.upstream_sessionid("cn", "0123456789abcdef") == "0123456789abcdef"
    assert foreign_prefix("us", "0123456789abcdef") is None


@given(password=st.text(), region=regions)
def test_can_login_needs_a_password_and_a_region_other_than_cn(password, region):
    assert rules.can_login(password, region) == (password.strip() != "" and region != "cn")


def test_can_login_examples():
    assert rules.can_login("secret", "us")
    assert not rules.can_login("   ", "us")
    assert not rules.can_login("", "hk")
    assert not rules.can_login(None, "jp")
    assert not rules.can_login("secret", "cn")


@pytest.mark.parametrize("given_region", [None, "", "  "])
def test_kiro_region_defaults_to_us_east_1(given_region):
    assert rules.kiro_region(given_region) == "us-east-1"


@given(region=st.sampled_from(rules.KIRO_REGIONS))
def test_a_supported_kiro_region_is_kept(region):
    assert rules.kiro_region(region) == region
    assert rules.kiro_region(region.upper()) == region


@given(region=st.text(min_size=1).filter(lambda r: r.strip() and r.strip().lower() not in rules.KIRO_REGIONS))
def test_an_unsupported_kiro_region_names_the_allowed_ones(region):
    with pytest.raises(rules.RuleViolation) as caught:
        rules.kiro_region(region)
    assert caught.value.field == "region"
    assert "us-east-1, ap-southeast-1, eu-west-1" in caught.value.message


def test_dreamina_region_is_required_and_checked():
    with pytest.raises(rules.RuleViolation, match="required"):
        rules.dreamina_region(None)
    with pytest.raises(rules.RuleViolation, match="us, hk, jp, sg, cn"):
        rules.dreamina_region("eu")
    assert rules.dreamina_region(" HK ") == "hk"


def test_dreamina_credentials_rules():
    with pytest.raises(rules.RuleViolation) as caught:
        rules.check_dreamina_credentials(region="cn", password="pw", sessionid=None)
    assert caught.value.field == "sessionid"
    with pytest.raises(rules.RuleViolation):
        rules.check_dreamina_credentials(region="us", password="  ", sessionid=None)
    rules.check_dreamina_credentials(region="us", password="pw", sessionid=None)
    rules.check_dreamina_credentials(region="us", password="", sessionid="sid")
    rules.check_dreamina_credentials(region="cn", password="", sessionid="sid")


@pytest.mark.parametrize("missing", ["client_id", "client_secret"])
def test_idc_needs_both_client_credentials(missing):
    given_creds = {"client_id": "id", "client_secret": "secret", missing: None}
    with pytest.raises(rules.RuleViolation) as caught:
        rules.check_kiro_auth(auth_type="idc", **given_creds)
    assert caught.value.field == missing


def test_auth_type_is_inferred_from_client_credentials():
    assert rules.infer_kiro_auth_type(auth_type=None, client_id=None, client_secret=None) == "social"
    assert rules.infer_kiro_auth_type(auth_type=None, client_id="i", client_secret="s") == "idc"
    assert rules.infer_kiro_auth_type(auth_type="social", client_id="i", client_secret="s") == "social"


def test_a_sessionid_without_expiry_gets_60_days():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.sessionid_expiry(sessionid="sid", given=None, now=now) == datetime(2026, 3, 2, tzinfo=UTC)
    given_at = datetime(2026, 2, 1, tzinfo=UTC)
    assert rules.sessionid_expiry(sessionid="sid", given=given_at, now=now) == given_at
    assert rules.sessionid_expiry(sessionid=None, given=given_at, now=now) is None


def test_kiro_default_name_has_region_and_a_short_hash():
    name = rules.kiro_default_name(region="eu-west-1", refresh_token="aorTOKEN")
    assert name.startswith("kiro-eu-west-1-") and len(name) == len("kiro-eu-west-1-") + 6
    assert name == rules.kiro_default_name(region="eu-west-1", refresh_token="aorTOKEN")


def test_initial_status_per_kind():
    assert rules.initial_status("kiro", {"refresh_token": "t"}) == "pending"
    assert rules.initial_status("kiro", {"refresh_token": "t", "access_token": "a"}) == "active"
    assert rules.initial_status("custom_api", {"api_key": "k"}) == "active"
    assert rules.initial_status("dreamina", {"password": "p"}) == "pending"
    assert rules.initial_status("dreamina", {"password": "", "sessionid": "s"}) == "active"


# --- the Kiro chat host's region ---------------------------------------------------------------------

ARN_ACCOUNT = "123456789012"
aws_regions = st.sampled_from(["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "us-gov-west-1"])


def _arn(region: str) -> str:
    return f"arn:aws:codewhisperer:{region}:{ARN_ACCOUNT}:profile/ABC123XYZ"


@given(api_region=aws_regions, arn_region=aws_regions)
def test_an_explicit_api_region_wins_over_the_profile_arns_region(api_region, arn_region):
    assert rules.kiro_chat_region(api_region, _arn(arn_region)) == (api_region, "api_region")
    assert rules.kiro_chat_region(api_region, None) == (api_region, "api_region")


@given(arn_region=aws_regions)
def test_without_an_api_region_the_chat_host_is_in_the_profile_arns_region(arn_region):
    assert rules.kiro_chat_region(None, _arn(arn_region)) == (arn_region, "profile_arn")
    assert rules.kiro_chat_region("", _arn(arn_region)) == (arn_region, "profile_arn")


@pytest.mark.parametrize("api_region", [None, ""])
@pytest.mark.parametrize("profile_arn", [None, ""])
def test_with_neither_the_chat_host_is_in_us_east_1(api_region, profile_arn):
    assert rules.kiro_chat_region(api_region, profile_arn) == ("us-east-1", "default")


@pytest.mark.parametrize(
    "profile_arn",
    [
        "arn:aws:codewhisperer:x",  # too few parts
        "arn:aws:codewhisperer::123456789012:profile/ABC",  # no region
        "arn:aws:codewhisperer:EU-WEST-1:123456789012:profile/ABC",  # not a region name
        "arn:aws:codewhisperer:eu-west:123456789012:profile/ABC",
        "arn:aws:codewhisperer:global:123456789012:profile/ABC",
        "arn:aws:codewhisperer:eu-west-1:1234:profile/ABC",  # not a 12-digit account
        "arn:aws:codewhisperer:eu-west-1:123456789012:profile/",  # no profile id
        "arn:aws:codewhisperer:eu-west-1:123456789012:user/ABC",  # not a profile
        "arn:aws:s3:eu-west-1:123456789012:profile/ABC",  # another service
        "urn:aws:codewhisperer:eu-west-1:123456789012:profile/ABC",
        " arn:aws:codewhisperer:eu-west-1:123456789012:profile/ABC",
        "arn:aws:codewhisperer:eu-west-1:123456789012:profile/ABC\nx",
    ],
)
def test_a_malformed_profile_arn_names_no_region_and_the_default_is_used(profile_arn):
    assert rules.profile_arn_region(profile_arn) is None
    assert rules.kiro_chat_region(None, profile_arn) == ("us-east-1", "default")


@given(text=st.text())
def test_any_region_read_from_a_profile_arn_is_an_aws_region_name(text):
    region, source = rules.kiro_chat_region(None, text)
    assert rules.api_region(region) == region
    assert source in ("profile_arn", "default")


def test_a_profile_arn_of_another_aws_partition_names_its_region():
    arn = f"arn:aws-cn:codewhisperer:cn-north-1:{ARN_ACCOUNT}:profile/ABC"
    assert rules.kiro_chat_region(None, arn) == ("cn-north-1", "profile_arn")
