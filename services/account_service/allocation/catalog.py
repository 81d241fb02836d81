"""The chat models a pool can serve, for the proxy's `GET /v1/models`.

Same accounts as allocation (the caller's own plus the public pool when it is on, active only);
Kiro accounts serve the public Claude names, custom API accounts their `models` list, and one with
no list serves any model. Dreamina accounts serve images and videos, not chat models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.account_service.allocation.dreamina import IMAGE, VIDEO
from services.account_service.allocation.index import CHAT, Candidate
from shared.dreamina import ALL_IMAGE_MODELS, serves_image
from shared.kiro_models import PUBLIC_MODELS


@dataclass(frozen=True, slots=True)
class ChatModels:
    models: list[str]  # Kiro's names first (newest first), then the custom ones sorted
    any_model: bool  # some account takes any model name: the list is what is known, not a limit
    accounts: int  # the chat accounts they come from

    def as_json(self) -> dict:
        return {"models": self.models, "any_model": self.any_model, "accounts": self.accounts}


def chat_models(candidates: Iterable[Candidate]) -> ChatModels:
    kiro = any_model = False
    named: set[str] = set()
    accounts = 0
    for candidate in candidates:
        accounts += candidate.kind in ("kiro", "custom_api")
        if candidate.kind == "kiro":
            kiro = True
        elif candidate.kind == "custom_api":
            if candidate.models:
                named |= candidate.models
            else:
                any_model = True
    models = list(PUBLIC_MODELS) if kiro else []
    models += sorted(named.difference(models))
    return ChatModels(models=models, any_model=any_model, accounts=accounts)


ANY_MODEL = "*"


def offered(candidates: Iterable[Candidate]) -> list[tuple[str, str]]:
    """Every (capability, model) the accounts serve, for a per-model view of a pool: the chat models
    as `chat_models` lists them, `*` for custom API accounts that take any model name, the image
    models of the Dreamina accounts' sites, and `*` for video (any video model goes to any region).
    `Candidate.serves(capability, model=None if model == "*" else model)` says which accounts serve each."""
    candidates = list(candidates)
    chat = chat_models(candidates)
    found = [(CHAT, model) for model in chat.models]
    if chat.any_model:
        found.append((CHAT, ANY_MODEL))
    if any(c.kind == "dreamina" for c in candidates):
        regions = {c.region for c in candidates if c.kind == "dreamina"}
        found += [(IMAGE, m) for m in ALL_IMAGE_MODELS if any(serves_image(r, m) for r in regions)]
        found.append((VIDEO, ANY_MODEL))
    return found
