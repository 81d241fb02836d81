"""The console's Chinese catalog covers every string the code and templates mark for translation, with
the same placeholders, so no page shows English (or a broken `%(name)s`) to a zh reader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.account_service.console import i18n

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "services" / "account_service" / "console"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _marked() -> set[str]:
    found = set()
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    for _file, _line, message, _comments, _context in extract_from_dir(CONSOLE, method_map, options):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def catalog():
    with (CONSOLE / "locales" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale="zh")


def test_every_marked_string_has_a_chinese_translation(catalog):
    marked = _marked()
    assert len(marked) > 50  # the extraction found the console's strings
    missing = sorted(m for m in marked if not (catalog.get(m) and catalog.get(m).string))
    assert not missing, f"untranslated in zh (see console/i18n.py for how to update): {missing}"


def test_translations_keep_the_placeholders(catalog):
    for message in catalog:
        if message.id and message.string:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for text in strings:
                assert set(_PLACEHOLDER.findall(text)) == set(_PLACEHOLDER.findall(ids[0])), message.id


def test_the_language_comes_from_the_cookie_then_the_browser():
    assert i18n.choose("zh", "en-US,en;q=0.9") == "zh"
    assert i18n.choose(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert i18n.choose(None, "fr-FR,en;q=0.5,zh;q=0.9") == "zh"  # by weight, not by position
    assert i18n.choose(None, "zh;q=0,en") == "en"  # q=0: not wanted
    assert i18n.choose("xx", "de") == "en"
    assert i18n.choose(None, None) == "en"
