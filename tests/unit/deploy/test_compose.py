"""deploy/compose.yaml against the Compose Specification (there is no Docker here to ask): the
compose-pydantic models are generated from the compose-spec JSON schema and forbid unknown keys.
Their generator dropped the schema's `^x-` pattern properties (extension fields), so those are
taken out before validating, as Compose itself ignores them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_pydantic.models import ComposeSpecification
from pydantic import ValidationError

from tests.unit.deploy._settings import known_env_names

COMPOSE = Path(__file__).resolve().parents[3] / "deploy" / "compose.yaml"
POOLGATE_SERVICES = ("account_service", "proxy_service", "refresh_worker", "migrate")


def without_extensions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_extensions(v) for k, v in value.items() if not str(k).startswith("x-")}
    if isinstance(value, list):
        return [without_extensions(v) for v in value]
    return value


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # anchors and `<<` merges resolved as Compose does


def test_compose_yaml_follows_the_compose_specification() -> None:
    ComposeSpecification.model_validate(without_extensions(compose()))


def test_a_misspelt_key_is_refused() -> None:
    broken = without_extensions(compose())
    broken["services"]["proxy_service"]["stop_grace_periode"] = "60s"
    with pytest.raises(ValidationError, match="stop_grace_periode"):
        ComposeSpecification.model_validate(broken)


def test_every_poolgate_env_var_is_a_setting_a_service_reads() -> None:
    services = compose()["services"]
    names = {name for service in POOLGATE_SERVICES for name in services[service]["environment"]}
    assert "POOLGATE_DATABASE_URL" in names
    assert sorted(n for n in names if n.startswith("POOLGATE_") and n not in known_env_names()) == []


@pytest.mark.parametrize("service", ["proxy_service", "account_service", "refresh_worker"])
def test_services_get_longer_than_their_drain_to_stop(service: str) -> None:
    grace = compose()["services"][service]["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) >= 60  # 5 s grace + 30 s drain + margins
