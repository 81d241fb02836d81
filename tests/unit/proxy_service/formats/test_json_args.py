from __future__ import annotations

from typing import Any

import pytest

from services.proxy_service.formats.json_args import parse_arguments


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("  \n", {}),
        (None, {}),
        ('{"a": 1}', {"a": 1}),
        ({"already": "parsed"}, {"already": "parsed"}),
        ('{"a": "unfinished', {"a": "unfinished"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": {"b": 1},', {"a": {"b": 1}}),
        ('{"a":', {}),
        ('{"q": "a \\" quote', {"q": 'a " quote'}),
        ("[1, 2]", {}),
        ('"text"', {}),
        ("not json", {}),
    ],
)
def test_arguments_always_become_an_object(raw: Any, expected: dict[str, Any]) -> None:
    assert parse_arguments(raw) == expected
