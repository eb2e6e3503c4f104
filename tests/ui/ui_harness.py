"""The UI suite's helpers: the API served over real HTTP from a thread, its settings, the
browser's launch options, screenshots and signing in through the form."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from cryptography.fernet import Fernet
from harness.processes import free_port
from lgcp_api.app import create_app
from lgcp_api.core.settings import Settings
from playwright.async_api import Page

ADMIN_KEY = "lgcp_ui_test_admin_" + "a" * 40
# The listener key the API bootstraps, as the chart's listener gets it (LGCP_LISTENER_API_KEY).
LISTENER_KEY = "lgcp_ui_test_listener_" + "b" * 40
DATABASE = "lgcp_ui_tests"  # not the API suite's: both may run in one session
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"


@dataclass
class UiServer:
    """The API process's app served over real HTTP: `url` is the origin, `ui` the UI's root."""

    url: str
    ui: str
    api: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def admin(self, tenant_id: str | None = None) -> httpx.AsyncClient:
        """A v2 API client with the bootstrap admin key, to set up data as a user would."""
        headers = {"X-Api-Key": ADMIN_KEY}
        if tenant_id:
            headers["X-Tenant-Id"] = tenant_id
        return httpx.AsyncClient(base_url=f"{self.api}/v2", headers=headers, timeout=30)

    def listener(self) -> httpx.AsyncClient:
        """A v2 API client with the bootstrap listener key: the only role the listener API takes."""
        return httpx.AsyncClient(base_url=f"{self.api}/v2", headers={"X-Api-Key": LISTENER_KEY}, timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_server(settings: Settings) -> UiServer:
    """Runs create_app(settings) under uvicorn in a thread with its own event loop."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="lgcp-ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start (see the log above)")
        time.sleep(0.02)
    origin = f"http://127.0.0.1:{port}"
    return UiServer(origin, origin + settings.ui_prefix, origin + settings.api_prefix, settings, server, thread)


def ui_settings(dsn: str, redis_url: str, **overrides) -> Settings:
    values = dict(
        database_url=dsn,
        redis_url=redis_url,
        secret_key="k" * 48,
        encryption_keys=Fernet.generate_key().decode(),
        admin_api_key=ADMIN_KEY,
        listener_api_key=LISTENER_KEY,
        environment="test",
        ui_cookie_secure=False,
        langsmith_hostname="langsmith.example.com",
        db_pool_min_size=1,
        db_pool_max_size=10,
    )
    values.update(overrides)
    return Settings(**values)


async def screenshot(page: Page, name: str) -> Path:
    """Keeps a full-page screenshot under artifacts/ui/ (git-ignored) for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page: Page, server: UiServer, key: str = ADMIN_KEY) -> None:
    """Signs in through the sign-in form, as a user would."""
    await page.goto(f"{server.ui}/sign-in")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{server.ui}/deployments")
