"""Logging a Dreamina account in: the rule that decides who may, a browser slot, three tries.

`can_login` comes from account_service's rules with the credentials read; it is checked again here
against the region and password themselves, right before the driver, so no path can start a browser
for a `cn` account or one without a password. Only timeouts are tried again (three tries, backoff
`backoff_s` then twice that); every other failure is final for this trigger. Each try holds one
browser slot of the replicas' shared semaphore, released before any backoff.
"""

from __future__ import annotations

from typing import Protocol

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.refresh_worker.dreamina.failures import LoginNotAllowed, LoginTimeout, Session
from services.refresh_worker.dreamina.slots import BrowserSlots

TRIES = 3


class LoginDriver(Protocol):
    async def login(self, email: str, password: str, *, proxy: str | None = None) -> Session: ...


class Login:
    def __init__(self, driver: LoginDriver, slots: BrowserSlots, *, backoff_s: float) -> None:
        self._driver = driver
        self._slots = slots
        self._backoff_s = backoff_s

    async def login(
        self, *, can_login: bool, region: str, email: str, password: str, proxy: str | None = None
    ) -> Session:
        if not can_login or region == "cn" or not password.strip() or not email:
            raise LoginNotAllowed("this account cannot log in (a cn account, or no password)")
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(LoginTimeout),
            stop=stop_after_attempt(TRIES),
            wait=wait_exponential(multiplier=self._backoff_s, max=60),
            reraise=True,
        ):
            with attempt:
                async with self._slots.slot():
                    return await self._driver.login(email, password, proxy=proxy)
        raise AssertionError("unreachable: the last try returns or raises")
