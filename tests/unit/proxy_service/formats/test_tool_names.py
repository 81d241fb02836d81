from __future__ import annotations

import re

import pytest

from services.proxy_service.formats.tool_names import ToolNameMap

OPENAI_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def test_valid_names_are_sent_as_they_are() -> None:
    names = ToolNameMap()
    assert names.upstream("get_weather") == "get_weather"
    assert names.client("get_weather") == "get_weather"


@pytest.mark.parametrize("name", ["mcp.server.tool", "a b", "x" * 65, "ü" * 80, "名前"])
def test_refused_names_get_a_valid_stand_in_that_maps_back(name: str) -> None:
    names = ToolNameMap()
    sent = names.upstream(name)
    assert OPENAI_NAME.fullmatch(sent)
    assert names.upstream(name) == sent  # stable within a call
    assert names.client(sent) == name


def test_names_that_clean_up_the_same_way_stay_distinct() -> None:
    names = ToolNameMap()
    first, second = names.upstream("a.b"), names.upstream("a_b")
    assert first != second
    assert (names.client(first), names.client(second)) == ("a.b", "a_b")


def test_long_names_sharing_a_prefix_stay_distinct() -> None:
    names = ToolNameMap()
    a, b = names.upstream("p" * 70 + "a"), names.upstream("p" * 70 + "b")
    assert a != b and len(a) == len(b) == 64


def test_unknown_upstream_names_are_returned_unchanged() -> None:
    assert ToolNameMap().client("whatever") == "whatever"
