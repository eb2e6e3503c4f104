"""The deployment page's metrics charts (issue 16) in Debian's Chromium: server-drawn SVG with
data and the revision boundaries marked, the same without JavaScript, a window switch reachable
by keyboard, and under a base path."""

from __future__ import annotations

import asyncio
import datetime as dt

from playwright.async_api import Page, expect
from ui_harness import ADMIN_KEY, UiServer, screenshot, sign_in, start_server, ui_settings


async def deployment_with_metrics(server: UiServer) -> dict:
    """A deployment with a second revision, and 20 minutes of points the listener shipped for
    both: CPU rising, restarts after the rollout, memory and requests."""
    async with server.admin() as admin:
        listeners = (await admin.get("/listeners")).json()["resources"]
        if not listeners:
            made = await admin.post(
                "/listeners", json={"compute_id": "cluster-1", "compute_config": {"k8s_namespaces": ["agents"]}}
            )
            listeners = [made.json()]
        created = await admin.post(
            "/deployments",
            json={
                "name": "charted-agent",
                "source": "external_docker",
                "source_config": {"listener_id": listeners[0]["id"], "listener_config": {"k8s_namespace": "agents"}},
                "source_revision_config": {"image_uri": "registry.example.com/team/agent:1"},
            },
        )
        assert created.status_code == 201, created.text
        deployment = created.json()
        second = await admin.post(
            f"/deployments/{deployment['id']}/revisions",
            json={"source_revision_config": {"image_uri": "registry.example.com/team/agent:2"}},
        )
        assert second.status_code == 201, second.text
    first_rev, second_rev = deployment["latest_revision_id"], second.json()["id"]
    now = dt.datetime.now(dt.UTC)
    points = []
    for i in range(40):
        at = now - dt.timedelta(seconds=30 * (40 - i))
        rev = first_rev if i < 25 else second_rev
        values = {
            "cpu_cores": 0.05 + i * 0.01,
            "memory_bytes": 200 * 2**20 + i * 2**20,
            "replicas_ready": 1,
            "restarts": 0 if i < 30 else i - 29,
            "http_requests_per_second": 2 + (i % 5),
            "http_latency_ms": 40 + i,
        }
        points.append({"revision_id": rev, "timestamp": at.isoformat(), "values": values})
    async with server.listener() as listener:
        response = await listener.post(f"/listener-api/deployments/{deployment['id']}/metrics", json={"points": points})
        assert response.status_code == 204, response.text
    return {**deployment, "second_revision_id": second_rev}


async def check_charts(page: Page, deployment: dict) -> None:
    section = page.get_by_role("region", name="Metrics")
    await expect(section).to_be_visible()
    cpu = section.locator('figure[data-figure="cpu_cores"]')
    await expect(cpu.locator("polyline")).to_have_count(1)
    points = (await cpu.locator("polyline").get_attribute("points") or "").split()
    assert len(points) >= 30, points  # 20 minutes at a 30 s step
    await expect(cpu.get_by_role("img", name="CPU, last hour")).to_be_visible()
    await expect(cpu.locator("desc")).to_contain_text("now 0.44 cores")
    # The second revision started inside the window: its dashed line is on every chart.
    marker = f"revision {deployment['second_revision_id'][:8]}"
    await expect(section.locator(f'line.revision-marker[data-revision="{marker}"]')).to_have_count(9)
    await expect(section.get_by_text(marker).first).to_be_visible()
    await expect(section.locator('figure[data-figure="restarts"] .chart-latest')).to_have_text("10")
    # Never measured: drawn empty and said so, not as a flat zero.
    await expect(section.locator('figure[data-figure="runs_pending"] .chart-latest')).to_have_text("no data")
    await expect(section.locator('figure[data-figure="runs_pending"] polyline')).to_have_count(0)


async def test_charts_render_with_data_and_revision_markers(page: Page, ui_server: UiServer):
    deployment = await deployment_with_metrics(ui_server)
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    await check_charts(page, deployment)
    await page.get_by_role("region", name="Metrics").scroll_into_view_if_needed()
    await screenshot(page, "ui-deployment-metrics")


async def test_charts_work_without_javascript(browser, ui_server: UiServer):
    deployment = await deployment_with_metrics(ui_server)
    context = await browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in(page, ui_server)
        await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
        await check_charts(page, deployment)
        # The window switch is a plain link, reached and followed with the keyboard alone.
        day = page.get_by_role("navigation", name="Metrics window").get_by_role("link", name="Last day")
        await day.focus()
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{ui_server.ui}/deployments/{deployment['id']}?window=day#metrics")
        await expect(day).to_have_attribute("aria-current", "page")
        await expect(page.get_by_role("region", name="Metrics")).to_contain_text("one point per 600 s")
        values = page.locator('figure[data-figure="memory_bytes"] details')
        await values.locator("summary").click()
        await expect(values.get_by_role("table")).to_contain_text("MiB")
    finally:
        await context.close()


async def test_charts_under_a_base_path(page: Page, ui_dsn: str, redis_url: str):
    server = await asyncio.to_thread(
        start_server, ui_settings(ui_dsn, redis_url, base_path="/langsmith", ui_path="/console")
    )
    try:
        deployment = await deployment_with_metrics(server)
        await page.goto(f"{server.ui}/sign-in")
        await page.get_by_label("API key").fill(ADMIN_KEY)
        await page.get_by_role("button", name="Sign in").click()
        await page.goto(f"{server.ui}/deployments/{deployment['id']}")
        await check_charts(page, deployment)
        day = page.get_by_role("link", name="Last day")
        assert (await day.get_attribute("href") or "").startswith("/langsmith/console/deployments/")
        await expect(page.get_by_text("GET /langsmith/api-host/v2/deployments/")).to_be_visible()
    finally:
        await asyncio.to_thread(server.stop)


async def test_the_charts_refresh_in_place_where_the_page_runs_its_script(page: Page, ui_server: UiServer):
    deployment = await deployment_with_metrics(ui_server)
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    pending = page.locator('figure[data-figure="runs_pending"]')
    await expect(pending.locator(".chart-latest")).to_have_text("no data")
    point = {
        "revision_id": deployment["second_revision_id"],
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "values": {"runs_pending": 3},
    }
    async with ui_server.listener() as listener:
        response = await listener.post(
            f"/listener-api/deployments/{deployment['id']}/metrics", json={"points": [point]}
        )
        assert response.status_code == 204, response.text
    cpu_values = page.locator('figure[data-figure="cpu_cores"] details')
    await cpu_values.locator("summary").click()
    # The script redraws every 20 s without reloading: the open "Values" stay open.
    await expect(pending.locator(".chart-latest")).to_have_text("3", timeout=30_000)
    await expect(pending.locator("polyline")).to_have_count(1)
    await expect(cpu_values).to_have_attribute("open", "")
