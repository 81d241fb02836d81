"""Bulk import and export formats, as pure functions (no I/O), so they are tested by properties.

Verdicts: every line of a text that is not blank and not a `#` comment gets exactly one verdict,
`Accepted` (with the validated create model) or `Rejected` (with the reason); blank lines and comment
lines get none. Line numbers are 1-based and count every line of the text (split on "\\n").

* Dreamina lines: `email:password:region[:sessionid]`. An empty region field means `cn`; a line with
  fewer than three fields is rejected "missing region"; an e-mail seen earlier in the batch is rejected
  as a duplicate (case-insensitive). Export writes `email:password:region:sessionid`.
* Kiro: plain lines, one refresh token each (a line starting with `{` is one JSON object: JSON Lines),
  or JSON for the whole text: one object, or a list of objects (or of refresh-token strings). For a
  JSON list, the verdict's `line` is the entry's 1-based position; a text starting with `[` that is
  not valid JSON gets one verdict. Keys are camelCase or snake_case; an entry without a region gets
  the batch's default region. Export is a JSON list with camelCase keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.account_service.accounts.schemas import DreaminaCreate, KiroCreate, validation_error


@dataclass(frozen=True, slots=True)
class Accepted:
    line: int
    spec: KiroCreate | DreaminaCreate


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str


Verdict = Accepted | Rejected


def _content_lines(text: str) -> Iterable[tuple[int, str]]:
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def _validated(model: type[KiroCreate] | type[DreaminaCreate], line: int, data: dict[str, Any]) -> Verdict:
    try:
        return Accepted(line, model.model_validate(data))
    except ValidationError as exc:
        return Rejected(line, validation_error(exc).message)


# ---- Dreamina ----------------------------------------------------------------------------------------


def parse_dreamina_line(line: int, content: str) -> Verdict:
    fields = content.split(":")
    if len(fields) < 3:
        return Rejected(line, "missing region: expected email:password:region[:sessionid]")
    if len(fields) > 4:
        return Rejected(line, "too many ':' fields: neither the password nor the sessionid may contain ':'")
    email, password, region = fields[0], fields[1], fields[2].strip() or "cn"
    sessionid = fields[3] if len(fields) == 4 else None
    return _validated(
        DreaminaCreate, line, {"email": email, "password": password, "region": region, "sessionid": sessionid}
    )


def parse_dreamina(text: str) -> list[Verdict]:
    verdicts: list[Verdict] = []
    seen: dict[str, int] = {}
    for number, content in _content_lines(text):
        verdict = parse_dreamina_line(number, content)
        if isinstance(verdict, Accepted):
            key = verdict.spec.email.lower()
            if key in seen:
                verdict = Rejected(number, f"duplicate email: already on line {seen[key]}")
            else:
                seen[key] = number
        verdicts.append(verdict)
    return verdicts


def format_dreamina(specs: Iterable[DreaminaCreate]) -> str:
    return "".join(f"{s.email}:{s.password}:{s.region}:{s.sessionid or ''}\n" for s in specs)


# ---- Kiro --------------------------------------------------------------------------------------------

_KIRO_KEYS = {
    "refreshToken": "refresh_token",
    "refresh_token": "refresh_token",
    "clientId": "client_id",
    "client_id": "client_id",
    "clientSecret": "client_secret",
    "client_secret": "client_secret",
    "profileArn": "profile_arn",
    "profile_arn": "profile_arn",
    "region": "region",
    "authType": "auth_type",
    "auth_type": "auth_type",
    "authMethod": "auth_type",
    "apiRegion": "api_region",
    "api_region": "api_region",
}


def _kiro_entry(line: int, entry: Any, default_region: str | None) -> Verdict:
    if isinstance(entry, str):
        entry = {"refreshToken": entry}
    if not isinstance(entry, dict):
        return Rejected(line, "an entry must be a JSON object or a refresh token string")
    data: dict[str, Any] = {}
    for key, value in entry.items():
        field = _KIRO_KEYS.get(key)
        if field is None:
            continue  # credential files carry more (accessToken, expiresAt, ...): not ours to keep
        if value is not None and not isinstance(value, str):
            return Rejected(line, f"{key} must be a string")
        data[field] = value
    if "refresh_token" not in data:
        return Rejected(line, "refresh_token: missing (refreshToken or refresh_token)")
    if isinstance(data.get("auth_type"), str):
        data["auth_type"] = data["auth_type"].strip().lower() or None
    data["region"] = data.get("region") or default_region
    return _validated(KiroCreate, line, data)


def _dedupe_tokens(verdicts: list[Verdict]) -> list[Verdict]:
    seen: dict[str, int] = {}
    result: list[Verdict] = []
    for verdict in verdicts:
        if isinstance(verdict, Accepted):
            token = verdict.spec.refresh_token
            if token in seen:
                verdict = Rejected(verdict.line, f"duplicate refresh token: already on line {seen[token]}")
            else:
                seen[token] = verdict.line
        result.append(verdict)
    return result


def _kiro_lines(text: str, default_region: str | None) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for number, content in _content_lines(text):
        if content.startswith("{"):
            try:
                entry = json.loads(content)
            except ValueError as exc:
                verdicts.append(Rejected(number, f"invalid JSON: {exc}"))
                continue
        else:
            entry = content
        verdicts.append(_kiro_entry(number, entry, default_region))
    return verdicts


def parse_kiro(text: str, *, default_region: str | None = None) -> list[Verdict]:
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        first_line = next(n for n, raw in enumerate(text.split("\n"), start=1) if raw.strip())
        try:
            document = json.loads(stripped)
        except ValueError as exc:
            if stripped.startswith("["):
                return [Rejected(first_line, f"invalid JSON: {exc}")]
            # Not one JSON object: JSON Lines, or plain lines that happen to start with one.
        else:
            if isinstance(document, list):
                verdicts = [_kiro_entry(n, e, default_region) for n, e in enumerate(document, start=1)]
            else:
                verdicts = [_kiro_entry(first_line, document, default_region)]
            return _dedupe_tokens(verdicts)
    return _dedupe_tokens(_kiro_lines(text, default_region))


def format_kiro(specs: Iterable[KiroCreate]) -> list[dict[str, Any]]:
    return [
        {
            "refreshToken": s.refresh_token,
            "clientId": s.client_id,
            "clientSecret": s.client_secret,
            "profileArn": s.profile_arn,
            "region": s.region,
            "authType": s.auth_type,
            "apiRegion": s.api_region,
        }
        for s in specs
    ]
