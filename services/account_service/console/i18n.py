"""The console's languages: English (the source strings) and Simplified Chinese, from Babel message
catalogs in `locales/<lang>/LC_MESSAGES/messages.po`, read when the service starts (no compile step).

The language is the `pg_lang` cookie (set by the switch on every page), else the first supported one
the browser's `Accept-Language` asks for, else English. Templates and pages translate through
`gettext`/`ngettext` here, which read the request's language from a context variable.

Keep the catalogs in step with the code: `make messages` extracts every string (`pybabel extract` with
babel.cfg, from the repository root) and merges them into the zh catalog (`pybabel update`), keeping
its translations; then translate the new entries (see the README)."""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"
COOKIE = "pg_lang"
_LOCALES = Path(__file__).parent / "locales"

_current: ContextVar[str] = ContextVar("console_language", default=DEFAULT)


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    po = _LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(fp=mo)


def choose(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for tag in _preferred(accept_language or ""):
        primary = tag.split("-", 1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def _preferred(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first (`q=0` means "not this one")."""
    weighted = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            weighted.append((-q, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def use(lang: str) -> None:
    _current.set(lang)


def current() -> str:
    return _current.get()


def gettext(message: str, **params: object) -> str:
    """`message` in the current language, `%(name)s` placeholders filled from `params`."""
    text = translations(_current.get()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(_current.get()).ngettext(singular, plural, n)
    return text % ({"num": n} | params)


_ = gettext
