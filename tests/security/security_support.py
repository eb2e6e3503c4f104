"""Helpers of the security suite: the real API app (in-process, on the session's Postgres and
Redis) and callers of every role, for the API (X-Api-Key) and the UI (a signed-in session)."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass, field

import httpx
from cryptography.fernet import Fernet
from lgcp_api.core.settings import Settings

ADMIN_KEY = "lgcp_security_admin_" + "a" * 40
SECRET_KEY = "q" * 48
ORIGIN = "http://api"
ROLES = ("admin", "deployer", "viewer", "listener", "no key", "revoked key", "other tenant")


def api_settings(dsn: str, redis_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": dsn,
        "redis_url": redis_url,
        "secret_key": SECRET_KEY,
        "encryption_keys": Fernet.generate_key().decode(),
        "admin_api_key": ADMIN_KEY,
        "environment": "test",
        "ui_cookie_secure": False,
        "langsmith_hostname": "langsmith.example.com",
        "db_pool_min_size": 1,
        "db_pool_max_size": 10,
    }
    values.update(overrides)
    return Settings(**values)


def asgi_client(app, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN, headers=headers or {})


@dataclass
class Caller:
    """One role: its key (None: no key) and, once signed in to the UI, its session client."""

    role: str
    key: str | None
    tenant_id: str | None = None
    ui: httpx.AsyncClient | None = None
    csrf: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def api_headers(self) -> dict[str, str]:
        headers = {"X-Api-Key": self.key} if self.key else {}
        if self.tenant_id:
            headers["X-Tenant-Id"] = self.tenant_id
        return headers


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "no CSRF token in the page"
    return html.unescape(found.group(1))


async def ui_session(app, ui_prefix: str, key: str | None) -> tuple[httpx.AsyncClient, str]:
    """A UI client signed in with `key` (none: never signed in), and its session's CSRF token."""
    client = asgi_client(app, {"Origin": ORIGIN})
    page = await client.get(f"{ui_prefix}/sign-in")
    token = csrf_of(page.text)
    if key is not None:
        # A listener key is refused here (the UI is not for the data plane): it stays signed out.
        await client.post(f"{ui_prefix}/sign-in", data={"api_key": key, "csrf_token": token})
        landing = await client.get(f"{ui_prefix}/deployments")
        if landing.status_code == 200:
            token = csrf_of(landing.text)
    return client, token


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
