"""The session cookie (pure logic): what it carries, and what a bad cookie becomes."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet
from lgcp_api.ui.session import COOKIE_NAME, Session, cookie_fernet, load_session, save_session
from starlette.requests import Request
from starlette.responses import Response

SECRET = "k" * 48


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE_NAME}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/ui", "headers": headers})


def written_cookie(session: Session, fernet: Fernet) -> str:
    response = Response()
    save_session(response, session, fernet, path="/ui", secure=True)
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" in header
    return header.split(";", 1)[0].split("=", 1)[1]


def test_a_signed_in_session_round_trips_without_showing_the_key():
    fernet = cookie_fernet(SECRET)
    session = Session()
    session.sign_in("lgcp_the_key", "6f1c0f5e-3a4b-4c55-9e21-0d5a3f1b2c3d")
    cookie = written_cookie(session, fernet)
    assert "lgcp_the_key" not in cookie
    loaded = load_session(request_with(cookie), fernet)
    assert (loaded.api_key, loaded.tenant_id, loaded.csrf) == (
        "lgcp_the_key",
        "6f1c0f5e-3a4b-4c55-9e21-0d5a3f1b2c3d",
        session.csrf,
    )
    assert loaded.changed is False


def test_tampered_foreign_or_expired_cookies_give_a_new_anonymous_session():
    fernet = cookie_fernet(SECRET)
    session = Session()
    session.sign_in("lgcp_the_key", None)
    cookie = written_cookie(session, fernet)
    tampered = cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB")
    # A cookie another deployment signed (another LGCP_SECRET_KEY), or a plain JSON one.
    foreign = cookie_fernet("z" * 48).encrypt(json.dumps({"c": "x", "k": "lgcp_other"}).encode()).decode()
    expired = fernet.encrypt_at_time(json.dumps({"c": "x", "k": "lgcp_old"}).encode(), 0).decode()
    for bad in (tampered, foreign, expired, "not-a-token"):
        loaded = load_session(request_with(bad), fernet)
        assert loaded.api_key is None and loaded.changed is True


def test_signing_in_and_out_renews_the_csrf_token():
    session = Session()
    anonymous_token = session.csrf
    session.sign_in("lgcp_the_key", None)
    signed_in_token = session.csrf
    session.sign_out()
    assert len({anonymous_token, signed_in_token, session.csrf}) == 3
    assert session.api_key is None
