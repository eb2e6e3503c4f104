"""Fixtures of the UI suite: the real API app (uvicorn on a free loopback port, in a thread)
against an emptied migrated database and the session's Redis, and one headless Debian Chromium
for the whole session driven by Playwright (a new browser context, so new cookies, per test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness.api_app import MigratedDatabase, migrated_database
from harness.browser import CHROMIUM, CHROMIUM_ARGS
from playwright.async_api import Browser, Page, async_playwright
from ui_harness import DATABASE, UiServer, start_server, ui_settings

# Migrated once per session; each test starts from it emptied.
ui_database = migrated_database(DATABASE)


@pytest.fixture
async def ui_dsn(ui_database: MigratedDatabase) -> str:
    return await ui_database.emptied()


@pytest.fixture
async def ui_server(ui_dsn: str, redis_url: str) -> AsyncIterator[UiServer]:
    server = await asyncio.to_thread(start_server, ui_settings(ui_dsn, redis_url))
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium (never a browser downloaded by Playwright), once per session."""
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = await context.new_page()
    yield tab
    await context.close()


@pytest.fixture
async def listener(ui_server: UiServer) -> dict:
    """A listener registered in the default tenant, as the chart's listener would be."""
    async with ui_server.admin() as admin:
        response = await admin.post(
            "/listeners",
            json={
                "compute_id": "cluster-1",
                "compute_config": {"k8s_namespaces": ["agents", "team-b"]},
            },
        )
    assert response.status_code == 201, response.text
    return response.json()
