"""What lists show of an account: masked secrets only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import orjson

from services.account_service.accounts.schemas import Account
from services.account_service.accounts.views import account_out, masked

TODAY = date(2026, 3, 1)


def _account(kind: str, region: str | None, settings: dict, **stored) -> Account:
    now = datetime.now(UTC)
    return Account(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        kind=kind,
        name="n",
        visibility="private",
        status="active",
        status_reason=None,
        status_changed_at=now,
        weight=100,
        max_concurrency=4,
        region=region,
        settings=settings,
        secrets="<encrypted>",
        success_count=3,
        fail_count=1,
        last_used_at=None,
        created_at=now,
        updated_at=now,
        **stored,
    )


def test_long_secrets_show_their_first_four_characters_short_ones_nothing():
    assert masked("aorAAAAAGsecretsecret") == "aorA****"
    assert masked("sk-short") == "****"
    assert masked(None) is None and masked("") is None


def test_kiro_secrets_are_masked():
    secrets = {
        "refresh_token": "aorREFRESHTOKENVALUE",
        "client_id": "client-id-value-1",
        "client_secret": "client-secret-value",
        "access_token": "access-token-value",
    }
    out = account_out(
        _account("kiro", "eu-west-1", {"auth_type": "idc"}), secrets, owner="alice", today=TODAY
    )
    body = orjson.dumps(out.model_dump(mode="json")).decode()
    assert out.secrets == {
        "refresh_token": "aorR****",
        "client_id": "clie****",
        "client_secret": "clie****",
        "access_token": "acce****",
    }
    assert all(value not in body for value in secrets.values())
    assert out.region == "eu-west-1" and out.owner == "alice" and out.can_login is None


def test_dreamina_shows_the_upstream_sessionid_masked_and_never_the_password():
    secrets = {"password": "hunter2hunter2", "sessionid": "0123456789abcdef"}
    out = account_out(
        _account("dreamina", "us", {"email": "a@x.co", "can_login": True}), secrets, owner=None, today=TODAY
    )
    assert out.secrets == {"password": "****", "sessionid": "us-0****"}
    assert out.can_login is True
    cn = account_out(_account("dreamina", "cn", {"email": "a@x.co"}), secrets, owner=None, today=TODAY)
    assert cn.secrets["sessionid"] == "0123****" and cn.can_login is False
    blank = account_out(
        _account("dreamina", "us", {}),
        {"password": "", "sessionid": "0123456789abcdef"},
        owner=None,
        today=TODAY,
    )
    assert blank.secrets["password"] is None and blank.can_login is False


def test_a_kiro_account_shows_its_chat_region_and_where_it_came_from():
    arn = "arn:aws:codewhisperer:eu-west-1:123456789012:profile/ABC"
    cases = [
        ({"api_region": "eu-central-1", "profile_arn": arn}, ("eu-central-1", "api_region")),
        ({"api_region": None, "profile_arn": arn}, ("eu-west-1", "profile_arn")),
        ({"api_region": None, "profile_arn": "arn:aws:codewhisperer:x"}, ("us-east-1", "default")),
        ({"auth_type": "social"}, ("us-east-1", "default")),
    ]
    for settings, shown in cases:
        out = account_out(_account("kiro", "ap-southeast-1", settings), {}, owner=None, today=TODAY)
        assert (out.chat_region, out.chat_region_source) == shown, settings


def test_other_kinds_show_no_chat_region():
    out = account_out(_account("dreamina", "us", {"email": "a@x.co"}), {}, owner=None, today=TODAY)
    assert (out.chat_region, out.chat_region_source) == (None, None)


def test_todays_calls_are_the_stored_count_only_when_it_was_counted_today():
    counted = {"calls_day": TODAY, "calls_today": 7, "calls_today_ok": 5}
    out = account_out(_account("custom_api", None, {}, **counted), {}, owner=None, today=TODAY)
    assert out.calls_today.model_dump() == {"day": TODAY, "total": 7, "ok": 5}
    tomorrow = TODAY + timedelta(days=1)
    later = account_out(_account("custom_api", None, {}, **counted), {}, owner=None, today=tomorrow)
    assert later.calls_today.model_dump() == {"day": tomorrow, "total": 0, "ok": 0}


def test_the_last_check_and_credits_are_shown_as_stored():
    at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    checked = {
        "last_check_at": at,
        "last_check_ok": False,
        "last_check_kind": "login",
        "last_check_reason": "wrong password",
        "credits": 84,
        "credits_read_at": at,
    }
    out = account_out(_account("dreamina", "us", {"email": "a@x.co"}, **checked), {}, owner=None, today=TODAY)
    assert out.last_check is not None
    assert out.last_check.model_dump() == {"at": at, "ok": False, "kind": "login", "reason": "wrong password"}
    assert (out.credits, out.credits_read_at) == (84, at)
    never = account_out(_account("kiro", "us-east-1", {}), {}, owner=None, today=TODAY)
    assert (never.last_check, never.credits, never.credits_read_at) == (None, None, None)
