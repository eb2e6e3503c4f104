"""API key material: generated once, stored only as an HMAC keyed by LGCP_SECRET_KEY."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "lgcp_"


def generate_api_key() -> str:
    """A new random key; shown to its owner once and never stored in clear."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hmac(secret_key: str, api_key: str) -> bytes:
    """The stored form of a key. An HMAC (not a bare hash) so a leaked table cannot be
    brute-forced without the server's secret too."""
    return hmac.new(secret_key.encode(), api_key.encode(), hashlib.sha256).digest()


def display_prefix(api_key: str) -> str:
    """The first characters of a key, enough for a human to tell keys apart."""
    return api_key[: len(KEY_PREFIX) + 6]
