"""What a Dreamina browser login ends with: a session, or a failure whose reason the console shows.

Permanent failures (trying again at once cannot help): the page says the password is wrong (or
refuses the login with another message), it asks for a captcha or verification, an expected element
is missing (the page changed; the element is named), or no `sessionid` cookie came. Transient ones
are about time and machinery, not the account: a timeout (tried three times), the browser would not
start, or no browser slot came free. No reason ever carries a password or a sessionid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Session:
    sessionid: str = field(repr=False)
    expires_at: datetime | None  # the cookie's own expiry; None for a session cookie


class LoginFailure(Exception):
    transient = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LoginNotAllowed(LoginFailure):
    """The account cannot log in (`cn`, or a blank password): no browser is ever started for it."""


class PageRefused(LoginFailure):
    """The page showed a message instead of logging in."""


class WrongPassword(PageRefused):
    pass


class VerificationRequired(LoginFailure):
    """A captcha or another verification step: only a person can pass it."""


class PageChanged(LoginFailure):
    """An element the flow expects is not there."""

    def __init__(self, element: str) -> None:
        super().__init__(f"the page changed: {element} not found")
        self.element = element


class NoCookie(LoginFailure):
    pass


class TransientLoginFailure(LoginFailure):
    transient = True


class LoginTimeout(TransientLoginFailure):
    """The page did not load or answer in time, or could not be reached: worth another try."""


class BrowserUnavailable(TransientLoginFailure):
    pass


class NoBrowserSlot(TransientLoginFailure):
    pass
