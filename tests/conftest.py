"""Session-wide infrastructure: one isolated database, Redis prefix and exchange per test run."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.infra import Infra, create_database, provision, teardown


@pytest.fixture(scope="session")
def infra() -> Infra:
    with provision() as infra:
        asyncio.run(create_database(infra))
        try:
            yield infra
        finally:
            asyncio.run(teardown(infra))
