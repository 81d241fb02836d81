"""tests/e2e: the whole gateway as separate processes (tests/support/stack.py), one stack per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.infra import Infra
from tests.support.stack import Stack, running_stack

__all__ = ["Stack"]


@pytest.fixture(scope="session")
def stack(infra: Infra, tmp_path_factory) -> Iterator[Stack]:
    with running_stack(infra.child("e2e"), tmp_path_factory.mktemp("stack-logs")) as running:
        yield running
