"""What the proxy needs to call an account of each kind, built once when the account is indexed.

Hosts are not decided here: the proxy owns the URL templates (`{region}`, `{api_region}`) and the
jimeng-api URL, so only accounts with an `api_base` of their own (custom API, and Dreamina accounts
that name their jimeng-api server) carry a URL; a Kiro account's chat region is resolved here
(rules.kiro_chat_region). The credential is the decrypted one; a Dreamina sessionid goes raw, with its
region, and the proxy adds the region prefix (and logs a foreign one it leaves alone).
"""

from __future__ import annotations

from typing import Any

from services.account_service.accounts.rules import kiro_chat_region
from services.account_service.accounts.schemas import Account


def upstream_for(account: Account, secrets: dict[str, str]) -> tuple[dict[str, Any], float | None]:
    """The allocation's `upstream` object and when the credential stops being usable (epoch s)."""
    settings = account.settings
    expires = account.credential_expires_at.timestamp() if account.credential_expires_at else None
    if account.kind == "custom_api":
        return {
            "url": settings["api_base"],
            "credential": secrets["api_key"],
            "format": settings["format"],
            "provider": settings.get("provider"),
            "model": settings.get("model_override"),
        }, None
    if account.kind == "kiro":
        return {
            "url": None,
            "credential": secrets.get("access_token") or "",
            "format": "kiro",
            "provider": "kiro",
            "model": None,
            "region": account.region,
            "api_region": kiro_chat_region(settings.get("api_region"), settings.get("profile_arn"))[0],
            "profile_arn": settings.get("profile_arn"),
        }, expires if expires is not None else 0.0  # no access token yet: not usable
    # dreamina: a cn sessionid past its expiry stays usable (the expiry is shown, not enforced).
    return {
        "url": settings.get("api_base"),
        "credential": secrets.get("sessionid") or "",
        "format": "jimeng",
        "provider": "dreamina",
        "model": None,
        "region": account.region,
    }, None if account.region == "cn" else expires
