"""Secrets at rest: MultiFernet over a rotatable key list (newest first)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "SecretBox", "generate_key", "mask"]


def generate_key() -> str:
    return Fernet.generate_key().decode()


def mask(secret: str | None) -> str | None:
    """What lists show of a secret: its first four characters."""
    if secret is None:
        return None
    return f"{secret[:4]}****"


class SecretBox:
    """Encrypts with the newest key, decrypts with any; `rotate` re-encrypts with the newest."""

    def __init__(self, keys: str | list[str]) -> None:
        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()
