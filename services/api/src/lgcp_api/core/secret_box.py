"""Encryption of deployment secret values at rest (Fernet; keys rotate via MultiFernet)."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, MultiFernet


class SecretBox:
    """Encrypts with the first key and decrypts with any, so old rows stay readable."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, secrets: list[dict[str, str]]) -> bytes:
        """The ciphertext of a list of `{"name", "value"}` items."""
        return self._fernet.encrypt(json.dumps(secrets).encode())

    def open(self, ciphertext: bytes | None) -> list[dict[str, str]]:
        """The list sealed by `seal`; empty for no ciphertext."""
        if not ciphertext:
            return []
        opened: list[dict[str, str]] = json.loads(self._fernet.decrypt(ciphertext))
        return opened
