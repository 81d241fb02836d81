"""The create models: a kind's rules at the model level, and the stored form read back unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.account_service.accounts import rules
from services.account_service.accounts.schemas import (
    Account,
    AccountCreateBase,
    CustomApiCreate,
    DreaminaCreate,
    KiroCreate,
    validation_error,
)
from tests.unit.account_service.accounts.strategies import dreamina_specs, kiro_specs


def _stored(spec: AccountCreateBase) -> tuple[Account, dict[str, Any]]:
    """The row the repository would write for `spec` (secrets kept decrypted: no crypto here)."""
    now = datetime.now(UTC)
    account = Account(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        kind=spec.kind,
        name=spec.display_name(),
        visibility=spec.visibility,
        status=rules.initial_status(spec.kind, spec.secrets()),
        status_reason=None,
        status_changed_at=now,
        weight=spec.weight,
        max_concurrency=spec.max_concurrency,
        region=spec.stored_region(),
        credential_expires_at=spec.credential_expires_at(now),
        settings=spec.settings(),
        secrets="<encrypted>",
        success_count=0,
        fail_count=0,
        last_used_at=None,
        created_at=now,
        updated_at=now,
    )
    return account, spec.secrets()


def _read_back(spec: AccountCreateBase) -> AccountCreateBase:
    account, secrets = _stored(spec)
    return type(spec).model_validate(type(spec).stored_fields(account, secrets))


def _error(model, data) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    err = validation_error(caught.value)
    return err.param, err.message


@given(spec=kiro_specs())
def test_a_kiro_account_reads_back_as_stored_with_its_region(spec):
    back = _read_back(spec)
    assert back.region == spec.region == _stored(spec)[0].region
    assert back.model_dump(exclude={"name"}) == spec.model_dump(exclude={"name"})


@given(spec=dreamina_specs())
def test_a_dreamina_account_reads_back_as_stored_with_its_region(spec):
    back = _read_back(spec)
    assert back.region == spec.region == _stored(spec)[0].region
    assert back.model_dump(exclude={"name", "sessionid_expires_at"}) == spec.model_dump(
        exclude={"name", "sessionid_expires_at"}
    )
    assert _stored(spec)[0].settings["can_login"] == rules.can_login(spec.password, spec.region)


@given(region=st.sampled_from(rules.KIRO_REGIONS))
def test_the_given_kiro_region_is_the_stored_region(region):
    assert KiroCreate(refresh_token="aorTOKEN", region=region).stored_region() == region


@pytest.mark.parametrize("data", [{}, {"region": None}, {"region": ""}])
def test_kiro_region_defaults_to_us_east_1(data):
    assert KiroCreate.model_validate({"refresh_token": "aorTOKEN", **data}).stored_region() == "us-east-1"


def test_an_unsupported_kiro_region_is_a_422_naming_the_allowed_values():
    param, message = _error(KiroCreate, {"refresh_token": "aorTOKEN", "region": "us-west-2"})
    assert param == "region"
    assert "us-east-1, ap-southeast-1, eu-west-1" in message


@pytest.mark.parametrize("missing", ["client_id", "client_secret"])
def test_idc_without_a_client_credential_names_it(missing):
    data = {"refresh_token": "aorTOKEN", "auth_type": "idc", "client_id": "cid", "client_secret": "cs"}
    del data[missing]
    assert _error(KiroCreate, data)[0] == missing


def test_client_credentials_without_auth_type_mean_idc():
    spec = KiroCreate(refresh_token="aorTOKEN", client_id="cid", client_secret="cs")
    assert spec.auth_type == "idc"
    assert spec.secrets() == {"refresh_token": "aorTOKEN", "client_id": "cid", "client_secret": "cs"}
    assert spec.settings() == {"auth_type": "idc", "api_region": None, "profile_arn": None}


def test_a_refresh_token_with_spaces_is_refused():
    assert _error(KiroCreate, {"refresh_token": "aor TOKEN"})[0] == "refresh_token"


def test_dreamina_cn_without_sessionid_is_a_422():
    param, message = _error(DreaminaCreate, {"email": "a@b.co", "password": "pw", "region": "cn"})
    assert param == "sessionid" and "cn" in message


@pytest.mark.parametrize("password", ["", "   "])
def test_dreamina_without_password_or_sessionid_is_a_422(password):
    assert _error(DreaminaCreate, {"email": "a@b.co", "password": password, "region": "us"})[0] == "sessionid"


def test_dreamina_region_is_required_and_named():
    assert _error(DreaminaCreate, {"email": "a@b.co", "password": "pw"})[0] == "region"
    param, message = _error(DreaminaCreate, {"email": "a@b.co", "password": "pw", "region": "eu"})
    assert param == "region" and "us, hk, jp, sg, cn" in message


def test_dreamina_stores_the_sessionid_as_given_with_a_60_day_default_expiry():
    spec = DreaminaCreate(email="a@b.co", region="us", sessionid="us-abc")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert spec.secrets() == {"password": "", "sessionid": "us-abc"}
    assert spec.credential_expires_at(now) == datetime(2026, 3, 2, tzinfo=UTC)
    assert spec.settings() == {"email": "a@b.co", "can_login": False}
    assert spec.display_name() == "a@b.co"


@pytest.mark.parametrize("password", ["a:b", "a\nb"])
def test_a_dreamina_password_cannot_hold_the_import_separators(password):
    assert _error(DreaminaCreate, {"email": "a@b.co", "password": password, "region": "us"})[0] == "password"


@pytest.mark.parametrize("email", ["no-at-sign", "a b@c.d", "a:b@c.d", "#a@b.co"])
def test_a_dreamina_email_must_look_like_one(email):
    assert _error(DreaminaCreate, {"email": email, "password": "pw", "region": "us"})[0] == "email"


@pytest.mark.parametrize("base", ["ftp://x.y", "localhost:8000", "http://"])
def test_custom_api_base_must_be_http(base):
    assert _error(CustomApiCreate, {"api_base": base, "api_key": "k", "format": "openai"})[0] == "api_base"


def test_fields_of_another_kind_are_refused():
    assert _error(KiroCreate, {"refresh_token": "aorTOKEN", "models": ["x"]})[0] == "models"
