"""What a production secret must look like: no placeholder, long, random-looking, no stray whitespace.

Deployment templates ship placeholders (`REPLACE_ME_SERVICE_TOKEN` in deploy/k8s/secret.template.yaml)
and people paste `changeme`; a service that starts with one serves decrypted credentials to anyone who
guesses it. The rules answer a reason, never the value, so callers can name the setting in an error
without echoing the secret.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MIN_LENGTH = 32
MIN_DISTINCT = 8
GENERATE_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"

# Words that only a template or a tutorial puts in a secret. Any of them anywhere is refused: a random
# 32+ character secret contains one of these 7+ letter words with negligible probability.
_PLACEHOLDER_WORDS = re.compile(r"replace[_-]?me|change[_-]?me|example|placeholder", re.IGNORECASE)
# `xxx` is short enough to turn up in a random token (about 1 in 800 for 43 base64 characters), so it
# counts only as a run of its own (`sk-xxxx`, `xxxxxxxx`) or a long run anywhere.
_PLACEHOLDER_XS = re.compile(r"(?<![a-z0-9])x{3,}(?![a-z0-9])|x{6,}", re.IGNORECASE)
# In URLs (host names such as db.example.com are real), only the template markers.
_URL_MARKERS = re.compile(r"replace[_-]?me|change[_-]?me|placeholder", re.IGNORECASE)


def looks_like_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_WORDS.search(value) or _PLACEHOLDER_XS.search(value))


def secret_problem(value: str, *, known: frozenset[str] = frozenset()) -> str | None:
    """Why `value` is no production secret (None if it is one). `known` holds published values, such
    as the development defaults."""
    if value != value.strip():
        return "has leading or trailing whitespace"
    if value in known:
        return "is the published development default"
    if looks_like_placeholder(value):
        return "looks like a placeholder (REPLACE_ME, CHANGE_ME, example, placeholder, xxx)"
    if len(value) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    if len(set(value)) < MIN_DISTINCT:
        return f"has fewer than {MIN_DISTINCT} distinct characters"
    return None


def url_problem(url: str) -> str | None:
    """Why a connection URL still holds a template value (None if it does not). Passwords are not held
    to the length rules: they belong to servers PoolGate does not run."""
    if _URL_MARKERS.search(url):
        return "holds a placeholder (REPLACE_ME, CHANGE_ME, placeholder)"
    try:
        password = urlsplit(url).password
    except ValueError:
        return None  # unparsable: the client library says so when it connects
    if password and looks_like_placeholder(unquote(password)):
        return "has a placeholder password"
    return None
