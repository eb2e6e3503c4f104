"""The UI's session: one encrypted, authenticated cookie (Fernet keyed from LGCP_SECRET_KEY).

The cookie carries the signed-in API key so the UI can call the API as that key. Fernet both
signs and encrypts, so the key is neither readable nor forgeable from the cookie, and its
timestamp bounds the session's age. Nothing is kept on the server, so any API replica serves any
request."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI, Request, Response

COOKIE_NAME = "lgcp_ui_session"
MAX_AGE_SECONDS = 12 * 3600


def cookie_fernet(secret_key: str) -> Fernet:
    """A Fernet key derived from LGCP_SECRET_KEY for this one purpose (HKDF with its own
    label), so the session key differs from the key that HMACs API keys."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lgcp-ui-session-cookie").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def ensure_cookie_key(app: FastAPI) -> None:
    """Derives the session cookie's key once per app (`app.state.ui_cookie_fernet`)."""
    app.state.ui_cookie_fernet = cookie_fernet(app.state.secret_key)


def cookie_fernet_of(app: FastAPI) -> Fernet:
    """The key `ensure_cookie_key` derived for `app`."""
    fernet: Fernet = app.state.ui_cookie_fernet
    return fernet


@dataclass
class Session:
    """What the cookie holds. `csrf` exists from the first page on, so sign-in is guarded too."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    api_key: str | None = None
    tenant_id: str | None = None
    flash: str | None = None
    changed: bool = False

    @property
    def signed_in(self) -> bool:
        return self.api_key is not None

    def sign_in(self, api_key: str, tenant_id: str | None) -> None:
        """Starts a signed-in session with a fresh CSRF token (no token outlives a sign-in)."""
        self.csrf = secrets.token_urlsafe(32)
        self.api_key, self.tenant_id = api_key, tenant_id
        self.changed = True

    def sign_out(self) -> None:
        """Forgets the key; the next page starts from a new anonymous session."""
        self.csrf = secrets.token_urlsafe(32)
        self.api_key = self.tenant_id = self.flash = None
        self.changed = True

    def set_flash(self, message: str) -> None:
        """A one-time notice shown on the next page (after a redirect)."""
        self.flash = message
        self.changed = True

    def pop_flash(self) -> str | None:
        message, self.flash = self.flash, None
        if message is not None:
            self.changed = True
        return message


def load_session(request: Request, fernet: Fernet) -> Session:
    """The request's session; a missing, tampered or expired cookie gives a new anonymous one."""
    token = request.cookies.get(COOKIE_NAME)
    if token:
        try:
            data = json.loads(fernet.decrypt(token.encode(), ttl=MAX_AGE_SECONDS))
            return Session(csrf=data["c"], api_key=data.get("k"), tenant_id=data.get("t"), flash=data.get("f"))
        except (InvalidToken, ValueError, KeyError, TypeError):
            pass
    return Session(changed=True)


def save_session(response: Response, session: Session, fernet: Fernet, *, path: str, secure: bool) -> None:
    """Writes the cookie when the session changed (HttpOnly, SameSite=Lax, scoped to the UI)."""
    if not session.changed:
        return
    payload = {"c": session.csrf, "k": session.api_key, "t": session.tenant_id, "f": session.flash}
    token = fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=MAX_AGE_SECONDS,
        path=path,
        secure=secure,
        httponly=True,
        samesite="lax",
    )
