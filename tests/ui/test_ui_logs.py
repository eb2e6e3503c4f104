"""The deployment's runtime logs page (issue 16) in Debian's Chromium: what the listener shipped,
newest first, with its level, text and revision filters and paging as a plain GET form (so
without JavaScript too), tenant-scoped, readable by a viewer, messages escaped, under a base path."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from harness.log_entries import T0, entry
from playwright.async_api import Page, expect
from ui_harness import ADMIN_KEY, UiServer, screenshot, sign_in, start_server, ui_settings

IMAGE = "registry.example.com/team/agent:1"


async def make_deployment(server: UiServer, listener_id: str, name: str = "logged-agent") -> dict:
    async with server.admin() as admin:
        created = await admin.post(
            "/deployments",
            json={
                "name": name,
                "source": "external_docker",
                "source_config": {"listener_id": listener_id, "listener_config": {"k8s_namespace": "agents"}},
                "source_revision_config": {"image_uri": IMAGE},
            },
        )
    assert created.status_code == 201, created.text
    return created.json()


async def ship(server: UiServer, deployment_id: str, entries: list[dict]) -> None:
    """Reports entries as the listener does (its key, the listener API)."""
    async with server.listener() as listener:
        response = await listener.post(f"/listener-api/deployments/{deployment_id}/logs", json={"entries": entries})
    assert response.status_code == 204, response.text


async def shipped(server: UiServer, listener: dict) -> dict:
    """A deployment with five entries of its first revision and one of the listener's own."""
    deployment = await make_deployment(server, listener["id"])
    revision_id = deployment["latest_revision_id"]
    await ship(
        server,
        deployment["id"],
        [
            entry(0, "server starting", revision_id=revision_id),
            entry(1, "Pulled image registry.example.com/team/agent:1", origin="event", revision_id=revision_id),
            entry(2, "connected to Postgres", revision_id=revision_id),
            entry(3, "slow query: 2.5 s", level="WARNING", revision_id=revision_id),
            entry(4, "Traceback: boom", level="ERROR", revision_id=revision_id),
            entry(5, "applied revision", origin="listener"),
        ],
    )
    return deployment


def messages(page: Page):
    return page.locator("table.runtime-logs tbody td.log-message")


async def test_the_deployment_page_links_to_its_logs_newest_first(page: Page, ui_server: UiServer, listener):
    deployment = await shipped(ui_server, listener)
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    logs = page.get_by_role("region", name="Runtime logs")
    await logs.get_by_role("link", name=f"all runtime logs of {deployment['name']}").click()
    await expect(page).to_have_url(f"{ui_server.ui}/deployments/{deployment['id']}/logs")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Runtime logs of {deployment['name']}")
    await expect(messages(page)).to_have_text(
        [
            "applied revision",
            "Traceback: boom",
            "slow query: 2.5 s",
            "connected to Postgres",
            "Pulled image registry.example.com/team/agent:1",
            "server starting",
        ]
    )
    table = page.get_by_role("table", name="Log entries, newest first")
    newest_error = table.get_by_role("row").filter(has_text="Traceback: boom")
    stamp = (T0 + dt.timedelta(seconds=4)).strftime("%Y-%m-%d %H:%M:%S")
    await expect(newest_error).to_contain_text(f"{stamp}.000")
    await expect(newest_error).to_contain_text("ERROR")
    await expect(newest_error).to_contain_text("container")
    await expect(
        newest_error.get_by_role("link", name=f"revision {deployment['latest_revision_id'][:8]}")
    ).to_be_visible()
    await expect(table.get_by_role("row").filter(has_text="Pulled image")).to_contain_text("event")
    # The listener's own step names no revision.
    await expect(table.get_by_role("row").filter(has_text="applied revision").get_by_role("link")).to_have_count(0)
    await expect(page.get_by_role("navigation", name="Pages of log entries").get_by_role("link")).to_have_count(0)
    await screenshot(page, "ui-deployment-logs")


async def test_the_level_filter_keeps_that_level_and_the_more_severe(page: Page, ui_server: UiServer, listener):
    deployment = await shipped(ui_server, listener)
    await sign_in(page, ui_server)
    base = f"{ui_server.ui}/deployments/{deployment['id']}/logs"
    await page.goto(f"{base}?level=ERROR")
    await expect(messages(page)).to_have_text(["Traceback: boom"])
    await expect(page.get_by_label("Level")).to_have_value("ERROR")
    await page.goto(f"{base}?level=WARNING")
    await expect(messages(page)).to_have_text(["Traceback: boom", "slow query: 2.5 s"])
    for row in await page.locator("table.runtime-logs tbody tr").all():
        assert await row.get_attribute("data-level") in ("WARNING", "ERROR")
    # The deployment page's "errors only" link is the same filter.
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    await page.get_by_role("link", name="errors only").click()
    await expect(messages(page)).to_have_text(["Traceback: boom"])
    # An unknown level is no filter, not an error.
    await page.goto(f"{base}?level=LOUD")
    await expect(messages(page)).to_have_count(6)
    await expect(page.get_by_label("Level")).to_have_value("")


async def test_the_text_filter_is_case_insensitive_and_combines_with_the_level(
    page: Page, ui_server: UiServer, listener
):
    deployment = await shipped(ui_server, listener)
    await sign_in(page, ui_server)
    base = f"{ui_server.ui}/deployments/{deployment['id']}/logs"
    await page.goto(f"{base}?q=postgres")
    await expect(messages(page)).to_have_text(["connected to Postgres"])
    await expect(page.get_by_label("Message contains")).to_have_value("postgres")
    await page.goto(f"{base}?q=e&level=ERROR")
    await expect(messages(page)).to_have_text(["Traceback: boom"])
    await page.goto(f"{base}?q=nothing+like+this")
    await expect(page.get_by_text("No log entry matches these filters.")).to_be_visible()
    await page.get_by_role("link", name="Clear filters").click()
    await expect(page).to_have_url(base)
    await expect(messages(page)).to_have_count(6)
    # Longer than the API takes: said at the field, nothing asked of the API.
    response = await page.goto(f"{base}?q={'x' * 300}")
    assert response is not None and response.status == 200
    await expect(page.get_by_text("Too long: search for at most 256 characters.")).to_be_visible()
    await expect(page.get_by_label("Message contains")).to_have_attribute("aria-invalid", "true")


async def test_paging_through_older_and_newer_entries_keeps_the_filters(page: Page, ui_server: UiServer, listener):
    deployment = await make_deployment(ui_server, listener["id"])
    await ship(ui_server, deployment["id"], [entry(i, f"line {i:03d}") for i in range(130)])
    await ship(ui_server, deployment["id"], [entry(200, "an error", level="ERROR")])
    await sign_in(page, ui_server)
    base = f"{ui_server.ui}/deployments/{deployment['id']}/logs"
    await page.goto(f"{base}?q=line")
    await expect(messages(page)).to_have_count(100)
    await expect(messages(page).first).to_have_text("line 129")
    await expect(messages(page).last).to_have_text("line 030")
    pager = page.get_by_role("navigation", name="Pages of log entries")
    await expect(pager.get_by_role("link", name="Newer entries")).to_have_count(0)
    await pager.get_by_role("link", name="Older entries").click()
    await expect(page).to_have_url(f"{base}?q=line&offset=100")
    await expect(messages(page)).to_have_count(30)
    await expect(messages(page).first).to_have_text("line 029")
    await expect(messages(page).last).to_have_text("line 000")
    await expect(pager.get_by_role("link", name="Older entries")).to_have_count(0)
    await pager.get_by_role("link", name="Newer entries").click()
    await expect(page).to_have_url(f"{base}?q=line")
    await expect(messages(page).first).to_have_text("line 129")
    # Beyond the last page: said so, with the way back.
    await page.goto(f"{base}?offset=5000")
    await expect(page.get_by_text("No older entries.")).to_be_visible()
    await expect(pager.get_by_role("link", name="Newer entries")).to_have_attribute("href", re.compile(r"offset=4900$"))


async def test_a_revisions_logs(page: Page, ui_server: UiServer, listener):
    deployment = await shipped(ui_server, listener)
    first = deployment["latest_revision_id"]
    async with ui_server.admin() as admin:
        made = await admin.post(
            f"/deployments/{deployment['id']}/revisions",
            json={"source_revision_config": {"image_uri": "registry.example.com/team/agent:2"}},
        )
        assert made.status_code == 201, made.text
    second = made.json()["id"]
    await ship(ui_server, deployment["id"], [entry(10, "second revision up", revision_id=second)])
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/revisions/{second}")
    await page.get_by_role("link", name="Runtime logs of this revision").click()
    await expect(page).to_have_url(f"{ui_server.ui}/deployments/{deployment['id']}/logs?revision={second}")
    await expect(messages(page)).to_have_text(["second revision up"])
    await expect(page.get_by_label("Revision")).to_have_value(second)
    await page.get_by_label("Revision").select_option(first)
    await page.get_by_role("button", name="Filter").click()
    await expect(messages(page)).to_have_count(5)
    # Another deployment's revision is as unknown as a missing one.
    other = await make_deployment(ui_server, listener["id"], "other-agent")
    response = await page.goto(
        f"{ui_server.ui}/deployments/{deployment['id']}/logs?revision={other['latest_revision_id']}"
    )
    assert response is not None and response.status == 404


async def test_another_tenant_gets_404(page: Page, ui_server: UiServer, listener):
    deployment = await shipped(ui_server, listener)
    async with ui_server.admin() as admin:
        tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
        made = await admin.post(
            "/api-keys", json={"name": "b admin", "role": "admin"}, headers={"X-Tenant-Id": tenant["id"]}
        )
        assert made.status_code == 201, made.text
    await sign_in(page, ui_server, made.json()["key"])
    for url in (f"{deployment['id']}/logs", f"{deployment['id']}/logs?level=ERROR&q=boom", "not-a-uuid/logs"):
        response = await page.goto(f"{ui_server.ui}/deployments/{url}")
        assert response is not None and response.status == 404, url
        assert "Traceback" not in await response.text()
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()


async def test_a_viewer_reads_the_logs(page: Page, ui_server: UiServer, listener):
    deployment = await shipped(ui_server, listener)
    async with ui_server.admin() as admin:
        made = await admin.post("/api-keys", json={"name": "viewer", "role": "viewer"})
        assert made.status_code == 201, made.text
    await sign_in(page, ui_server, made.json()["key"])
    response = await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/logs?level=ERROR")
    assert response is not None and response.status == 200
    await expect(messages(page)).to_have_text(["Traceback: boom"])


async def test_messages_are_shown_as_text_never_as_html(page: Page, ui_server: UiServer, listener):
    deployment = await make_deployment(ui_server, listener["id"])
    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b> & "quoted"'
    await ship(ui_server, deployment["id"], [entry(0, hostile, level="ERROR")])
    await sign_in(page, ui_server)
    response = await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/logs")
    assert response is not None
    html = await response.text()
    assert "<script>window.pwned" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;img src=x onerror=" in html
    await expect(messages(page)).to_have_text([hostile])
    await expect(page.locator("table.runtime-logs b, table.runtime-logs img, table.runtime-logs script")).to_have_count(
        0
    )
    assert await page.evaluate("window.pwned") is None
    # A filter typed with markup comes back as text in its field, too.
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/logs?q=%22%3E%3Cb%3Ex")
    await expect(page.get_by_label("Message contains")).to_have_value('"><b>x')
    await expect(page.locator("form b")).to_have_count(0)


async def test_the_filter_form_works_without_javascript_and_by_keyboard(browser, ui_server: UiServer, listener):
    deployment = await shipped(ui_server, listener)
    context = await browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in(page, ui_server)
        await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/logs")
        await expect(messages(page)).to_have_count(6)
        # Each control has its label, and Tab reaches them in order.
        level = page.get_by_label("Level")
        await level.focus()
        await level.select_option("WARNING")
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("Message contains")).to_be_focused()
        await page.keyboard.type("SLOW")
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("Revision")).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Filter")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(
            f"{ui_server.ui}/deployments/{deployment['id']}/logs?level=WARNING&q=SLOW&revision="
        )
        await expect(messages(page)).to_have_text(["slow query: 2.5 s"])
        await expect(page.get_by_label("Level")).to_have_value("WARNING")
        await expect(page.get_by_label("Message contains")).to_have_value("SLOW")
        # Submitting from the text field with Enter works the same.
        await page.get_by_label("Message contains").fill("boom")
        await page.get_by_label("Message contains").press("Enter")
        await expect(messages(page)).to_have_text(["Traceback: boom"])
        await screenshot(page, "ui-deployment-logs-filtered-no-js")
    finally:
        await context.close()


async def test_the_logs_page_under_a_base_path(page: Page, ui_dsn: str, redis_url: str):
    server = await asyncio.to_thread(
        start_server, ui_settings(ui_dsn, redis_url, base_path="/langsmith", ui_path="/console")
    )
    try:
        async with server.admin() as admin:
            made = await admin.post(
                "/listeners", json={"compute_id": "cluster-1", "compute_config": {"k8s_namespaces": ["agents"]}}
            )
            assert made.status_code == 201, made.text
        deployment = await shipped(server, made.json())
        await page.goto(f"{server.ui}/sign-in")
        await page.get_by_label("API key").fill(ADMIN_KEY)
        await page.get_by_role("button", name="Sign in").click()
        await page.goto(f"{server.ui}/deployments/{deployment['id']}")
        await page.get_by_role("link", name="errors only").click()
        await expect(page).to_have_url(f"{server.ui}/deployments/{deployment['id']}/logs?level=ERROR")
        await expect(messages(page)).to_have_text(["Traceback: boom"])
        action = await page.locator("form[role=search]").get_attribute("action")
        assert action == f"/langsmith/console/deployments/{deployment['id']}/logs"
        await page.get_by_label("Level").select_option("")
        await page.get_by_role("button", name="Filter").click()
        await expect(messages(page)).to_have_count(6)
        await expect(
            page.get_by_text(f"POST /langsmith/api-host/v2/deployments/{deployment['id']}/logs")
        ).to_be_visible()
    finally:
        await asyncio.to_thread(server.stop)


async def test_the_first_page_follows_new_entries_where_the_page_runs_its_script(
    page: Page, ui_server: UiServer, listener
):
    deployment = await shipped(ui_server, listener)
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/logs?level=ERROR")
    await expect(messages(page)).to_have_text(["Traceback: boom"])
    loads: list[int] = []
    page.on("load", lambda _: loads.append(1))
    later = [entry(60, "a newer failure", level="ERROR"), entry(61, "quiet line")]
    await ship(ui_server, deployment["id"], later)
    # Redrawn in place every 20 s with the same filters: no reload, no navigation.
    await expect(messages(page)).to_have_text(["a newer failure", "Traceback: boom"], timeout=30_000)
    await expect(page).to_have_url(f"{ui_server.ui}/deployments/{deployment['id']}/logs?level=ERROR")
    assert loads == [], "the entries came by a reload, not in place"
