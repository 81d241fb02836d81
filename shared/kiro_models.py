"""The Claude models Kiro serves: public names ↔ Kiro model ids, in one place.

account_service uses it to decide which chat calls a Kiro account can take; proxy_service uses it
to name the model in the upstream request. Names are matched case-insensitively; a Kiro id is
accepted as-is.
"""

from __future__ import annotations

# Kiro id → the public names (first = canonical) that map to it.
_TABLE: dict[str, tuple[str, ...]] = {
    "claude-opus-4.6": ("claude-opus-4-6", "claude-opus-4-6-20260101"),
    "claude-opus-4.5": ("claude-opus-4-5", "claude-opus-4-5-20251101"),
    "claude-sonnet-4.6": ("claude-sonnet-4-6", "claude-sonnet-4-6-20260101"),
    "CLAUDE_SONNET_4_5_20250929_V1_0": (
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4.5",
    ),
    "CLAUDE_SONNET_4_20250514_V1_0": ("claude-sonnet-4", "claude-sonnet-4-20250514"),
    "claude-haiku-4.5": ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
    "CLAUDE_3_7_SONNET_20250219_V1_0": ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet-latest"),
}
_ALIASES = {"auto": "CLAUDE_SONNET_4_5_20250929_V1_0"}

_BY_NAME: dict[str, str] = {
    **{name.lower(): kiro_id for kiro_id, names in _TABLE.items() for name in names},
    **{kiro_id.lower(): kiro_id for kiro_id in _TABLE},
    **_ALIASES,
}

PUBLIC_MODELS: tuple[str, ...] = tuple(names[0] for names in _TABLE.values())


def kiro_model_id(model: str | None) -> str | None:
    """The Kiro id for a public model name, or None when Kiro does not serve it."""
    if not model:
        return None
    return _BY_NAME.get(model.lower())


def kiro_serves(model: str | None) -> bool:
    return kiro_model_id(model) is not None


# Context windows (kiro.md §2.5: the 4.6 models have had 1,000,000 tokens since 2026-03-24); Kiro's
# `contextUsagePercentage` is a share of this.
_LARGE_WINDOW = frozenset({"claude-opus-4.6", "claude-sonnet-4.6"})
DEFAULT_WINDOW = 200_000


def context_window(model: str | None) -> int:
    return 1_000_000 if kiro_model_id(model) in _LARGE_WINDOW else DEFAULT_WINDOW
