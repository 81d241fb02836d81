"""Session-wide infrastructure: one isolated database, Redis prefix and exchange per test run."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, settings

from tests.support.infra import Infra, create_database, provision, teardown

# Property tests assert behaviour, never speed: on a 2-core machine that also runs the services,
# a per-example deadline only produces flakes.
settings.register_profile("poolgate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("poolgate")


@pytest.fixture(scope="session")
def infra() -> Infra:
    with provision() as infra:
        asyncio.run(create_database(infra))
        try:
            yield infra
        finally:
            asyncio.run(teardown(infra))
