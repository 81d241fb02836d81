"""The fake Kiro's own state: lineages of refresh tokens, access tokens, per-lineage scripts, config."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

KIRO_DEFAULTS: dict[str, Any] = {
    "rotate_refresh_tokens": True,  # every refresh issues "{lineage}.r{n}" and kills the previous token
    "expires_in": 3600,  # seconds, in refresh answers and for the access tokens' validity
    "slice_bytes": 0,  # 0: random cuts in every frame; N > 0: N-byte writes; -1: one write per frame
    "max_input_chars": 400_000,  # above: the too_long 400
    "seed": None,  # seeds the random cut points
}

AUTH_HOSTS = ("social", "idc")  # "auth" (prod.{region}.auth.desktop.kiro.dev) and "oidc" hosts


@dataclass
class Lineage:
    """One account's chain of refresh tokens, named by the first refresh token ever seen for it."""

    name: str
    region: str
    auth: str
    client_id: str | None = None
    client_secret: str | None = None
    current_refresh_token: str = ""
    refresh_count: int = 0
    invalid_grants: int = 0
    dead: bool = False
    profile_arn: str | None = None  # what its refreshes answer; None: the host's own default
    access_tokens: set[str] = field(default_factory=set)
    # getUsageLimits (_kiro_usage.py): credits of the plan, used, the reset (epoch s; None: in 30 days),
    # and the chat regions it was asked in.
    usage_limit: float = 50.0
    usage_used: float = 0.0
    usage_resets_at: float | None = None
    usage_regions: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """Exactly the contract's fields, so tests may compare the whole object."""
        return {
            "region": self.region,
            "auth": self.auth,
            "refresh_count": self.refresh_count,
            "current_refresh_token": self.current_refresh_token,
            "invalid_grants": self.invalid_grants,
        }


@dataclass(slots=True)
class AccessToken:
    lineage: Lineage
    region: str
    expires_at: float


class KiroState:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.config: dict[str, Any] = dict(KIRO_DEFAULTS)
        self.lineages: dict[str, Lineage] = {}
        # Every refresh token ever issued (dead ones too) -> its lineage.
        self.refresh_tokens: dict[str, Lineage] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.scripts: dict[str, dict[str, dict[str, Any]]] = {}  # lineage -> target -> script
        self.rng = random.Random(self.config["seed"])

    def configure(self, patch: dict[str, Any]) -> None:
        self.config.update(patch)
        if "seed" in patch:
            self.rng.seed(patch["seed"])

    # --- refresh tokens ---------------------------------------------------------------------------

    def register(
        self,
        name: str,
        region: str,
        auth: str,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> Lineage:
        old = self.lineages.pop(name, None)
        if old is not None:
            self._forget(old)
        lineage = Lineage(name, region, auth, client_id, client_secret, current_refresh_token=name)
        self.lineages[name] = lineage
        self.refresh_tokens[name] = lineage
        return lineage

    def _forget(self, lineage: Lineage) -> None:
        for token in [t for t, owner in self.refresh_tokens.items() if owner is lineage]:
            del self.refresh_tokens[token]
        for token in lineage.access_tokens:
            self.access_tokens.pop(token, None)

    def lineage_name(self, refresh_token: str) -> str:
        """The lineage a refresh token belongs to; an unseen token will found its own."""
        owner = self.refresh_tokens.get(refresh_token)
        return owner.name if owner else refresh_token

    def refresh(
        self, token: str, region: str, auth: str, client: tuple[str, str] | None = None
    ) -> Lineage | None:
        """Rotate and return the lineage, or None for an invalid_grant (counted on the lineage)."""
        lineage = self.refresh_tokens.get(token)
        if lineage is None:  # first use of an unregistered token: bound to this host and client
            lineage = self.register(token, region, auth, *(client or (None, None)))
        client_ok = (
            auth == "social"
            or lineage.client_id is None
            or client
            == (
                lineage.client_id,
                lineage.client_secret,
            )
        )
        if (
            lineage.dead
            or token != lineage.current_refresh_token
            or (lineage.region, lineage.auth) != (region, auth)
            or not client_ok
        ):
            lineage.invalid_grants += 1
            return None
        lineage.refresh_count += 1
        if self.config["rotate_refresh_tokens"]:
            lineage.current_refresh_token = f"{lineage.name}.r{lineage.refresh_count}"
            self.refresh_tokens[lineage.current_refresh_token] = lineage
        return lineage

    def count_invalid_grant(self, refresh_token: str) -> None:
        owner = self.refresh_tokens.get(refresh_token)
        if owner is not None:
            owner.invalid_grants += 1

    # --- access tokens ----------------------------------------------------------------------------

    def mint(self, lineage: Lineage) -> str:
        token = "at-" + os.urandom(16).hex()
        self.access_tokens[token] = AccessToken(lineage, lineage.region, time.time() + self.expires_in)
        lineage.access_tokens.add(token)
        return token

    @property
    def expires_in(self) -> int:
        return self.config["expires_in"]

    def access(self, token: str | None) -> AccessToken | None:
        """The access token if it is known, unexpired and not revoked."""
        found = self.access_tokens.get(token) if token else None
        if found is None or found.expires_at <= time.time():
            return None
        return found

    def revoke_access(self, lineage: Lineage) -> None:
        for token in lineage.access_tokens:
            self.access_tokens.pop(token, None)
        lineage.access_tokens.clear()

    # --- scripts ----------------------------------------------------------------------------------

    def script(self, lineage: str, target: str) -> dict[str, Any]:
        return self.scripts.get(lineage, {}).get(target) or {}

    def use_script(self, lineage: str, target: str) -> dict[str, Any]:
        """The script for this answer (or {}), with one of its `times` used up."""
        scripts = self.scripts.get(lineage, {})
        script = scripts.get(target)
        if not script:
            return {}
        times = script.get("times")
        if times is not None:
            if times <= 1:
                del scripts[target]
                if times <= 0:
                    return {}
            else:
                script["times"] = times - 1
        return script


KIRO = web.AppKey("kiro_state", KiroState)
