"""What the jimeng-api compatible server says about a sessionid (reference §8.1):

* `POST /token/check {"token": t}` → `{"live": bool}`: whether Dreamina still knows the session.
* `POST /token/points` with `Authorization: Bearer t` → `[{"token", "points": {..., "totalCredit"}}]`.

`t` is the sessionid with its region prefix (account_service's credentials read carries it). jimeng
answers its own failures with HTTP 200 and `{code, message}`; that, any other status, a body of
another shape, a timeout or an unreachable server is a `JimengUnavailable`: nothing was learnt about
the sessionid, so the check is tried again later. Nothing here logs, and no reason carries a token.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

_HEADERS = {"content-type": "application/json", "accept": "application/json"}


class JimengUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _json(path: str, status: int, body: bytes) -> Any:
    if status != 200:
        raise JimengUnavailable(f"jimeng-api {path} answered HTTP {status}")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise JimengUnavailable(f"jimeng-api {path} answered with a body that is not JSON") from None
    if isinstance(parsed, dict) and isinstance(parsed.get("code"), int) and parsed["code"] != 0:
        message = parsed.get("message")
        detail = f": {message[:200]}" if isinstance(message, str) else ""
        raise JimengUnavailable(f"jimeng-api {path} failed with code {parsed['code']}{detail}")
    return parsed


def parse_live(status: int, body: bytes) -> bool:
    parsed = _json("/token/check", status, body)
    live = parsed.get("live") if isinstance(parsed, dict) else None
    if not isinstance(live, bool):
        raise JimengUnavailable("jimeng-api /token/check answered without a boolean live")
    return live


def parse_credits(status: int, body: bytes) -> int:
    """The total credits of the one token asked about."""
    parsed = _json("/token/points", status, body)
    entry = parsed[0] if isinstance(parsed, list) and len(parsed) == 1 else None
    points = entry.get("points") if isinstance(entry, dict) else None
    total = points.get("totalCredit") if isinstance(points, dict) else None
    if not isinstance(total, int | float) or isinstance(total, bool):
        raise JimengUnavailable("jimeng-api /token/points answered without a totalCredit")
    return int(total)


class Jimeng:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str, timeout_s: float) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._timeout_s = timeout_s

    async def _post(self, path: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            return await self._http.post(
                self._base + path, content=content, headers=headers, timeout=self._timeout_s
            )
        except httpx.TimeoutException as exc:
            raise JimengUnavailable(f"jimeng-api {path} timed out ({exc.__class__.__name__})") from None
        except httpx.TransportError as exc:
            raise JimengUnavailable(f"jimeng-api {path} unreachable ({exc.__class__.__name__})") from None

    async def is_live(self, token: str) -> bool:
        response = await self._post("/token/check", content=orjson.dumps({"token": token}), headers=_HEADERS)
        return parse_live(response.status_code, response.content)

    async def credits(self, token: str) -> int:
        headers = {**_HEADERS, "authorization": f"Bearer {token}"}
        response = await self._post("/token/points", content=b"{}", headers=headers)
        return parse_credits(response.status_code, response.content)
