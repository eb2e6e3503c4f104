"""Per-deployment metrics on the real node (issue 16), with the sample agent called through the
ingress: the API's metrics show the agent's CPU and memory above zero (no metrics-server on the
node: the agent server process's own figures from its page), its ready pod, and a forced crash
counted as a restart without the pod being replaced; the listener's /metrics carries the same
figures labelled by deployment. The listener gathers every 20 s.

The agent's own HTTP figures (request count, latency, runs) come from the `lg_api_*` families the
sample agent's server counts once graph.py's lifespan has started its metrics reporter
(langgraph-runtime-pg 0.11.1 does not start it).
"""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

import pytest
from agents import REPO, agent_pods, deploy, exec_python, new_thread, say
from harness.browser import CHROMIUM, CHROMIUM_ARGS
from lgcp_local_stack.control_plane import wait_for
from playwright.async_api import async_playwright, expect

pytestmark = [pytest.mark.cluster, pytest.mark.images]
GATHERED_WITHIN = 120  # a pass every 20 s, a second scrape for rates, slack for a loaded node
# Not artifacts/e2e/, which the suite's teardown replaces with the pods' logs.
SCREENSHOTS = REPO / "artifacts" / "e2e-ui"


def latest(plane, deployment: dict, figure: str) -> float | None:
    response = plane.http.get(f"/deployments/{deployment['id']}/metrics")
    assert response.status_code == 200, response.text
    (series,) = [s for s in response.json()["series"] if s["figure"] == figure]
    return series["points"][-1]["value"] if series["points"] else None


def drive(release, name: str, threads: int) -> None:
    """Requests the agent server counts (its /ok is left out of its own metrics) and one run."""
    for _ in range(threads):
        new_thread(release, name)
    say(release, name, None, "metrics")


def listener_metrics(release) -> list[str]:
    """The listener's /metrics, read through the API server's pod proxy (as a scrape would)."""
    pod = release.node.get_json("pods", "-n", release.config.namespace, "-l", "app.kubernetes.io/component=listener")[
        "items"
    ][0]["metadata"]["name"]
    path = f"/api/v1/namespaces/{release.config.namespace}/pods/{pod}:8081/proxy/metrics"
    return release.node.kubectl("get", "--raw", path).stdout.splitlines()


def test_cpu_memory_replicas_and_a_crash_reach_the_metrics(demo, plane, listener_id):
    release = demo.release
    deployment = deploy(plane, release, listener_id)
    drive(release, deployment["name"], 5)
    assert wait_for(lambda: latest(plane, deployment, "cpu_cores"), "CPU above zero", GATHERED_WITHIN) > 0
    assert latest(plane, deployment, "memory_bytes") > 20 * 2**20  # a Python server holds tens of MiB
    assert latest(plane, deployment, "replicas_ready") == 1 and latest(plane, deployment, "replicas_desired") == 1
    assert latest(plane, deployment, "restarts") == 0

    # A forced crash: the server (PID 1, uvicorn) told to stop; the kubelet restarts the container.
    (pod,) = agent_pods(release, deployment)
    exec_python(release, deployment, "import os, signal; os.kill(1, signal.SIGTERM)")
    wait_for(lambda: (latest(plane, deployment, "restarts") or 0) >= 1, "the restart counted", GATHERED_WITHIN + 60)
    wait_for(lambda: latest(plane, deployment, "replicas_ready") == 1, "ready again", GATHERED_WITHIN + 60)
    (after,) = agent_pods(release, deployment)
    assert after["metadata"]["uid"] == pod["metadata"]["uid"]  # restarted in place, not replaced

    rows = [r for r in listener_metrics(release) if f'deployment_id="{deployment["id"]}"' in r]
    memory = [r for r in rows if r.startswith("lgcp_deployment_memory_bytes{")]
    assert memory and f'deployment="{deployment["name"]}"' in memory[0], rows
    restarts = [r for r in rows if r.startswith("lgcp_deployment_restarts{")]
    assert restarts and float(restarts[0].rsplit(" ", 1)[1]) >= 1, rows
    plane.delete(deployment["id"])  # the node's CPU is small: each test removes its agents


def test_the_request_count_rises_with_latency_and_runs(demo, plane, listener_id):
    release = demo.release
    deployment = deploy(plane, release, listener_id)
    try:
        drive(release, deployment["name"], 10)
        first = wait_for(
            lambda: latest(plane, deployment, "http_requests_total"), "the first request count", GATHERED_WITHIN
        )
        drive(release, deployment["name"], 10)
        wait_for(
            lambda: (latest(plane, deployment, "http_requests_total") or 0) >= first + 11,
            "the request count rising",
            GATHERED_WITHIN,
        )
        assert (latest(plane, deployment, "http_latency_ms") or 0) > 0
        assert latest(plane, deployment, "runs_running") == 0 and latest(plane, deployment, "runs_pending") == 0
    finally:
        plane.delete(deployment["id"])


@pytest.mark.timeout(900)  # an agent's rollout, two gathering passes, then a new point drawn
async def test_the_deployment_page_charts_the_agent_while_it_is_called(demo, plane, listener_id):
    """`make demo`'s UI through the ingress: the sample agent's page charts what the listener
    gathered from its real pod, and the charts move in place (no reload) while it is called.
    The blocking calls (the API client, the agent calls) run in threads, so the browser's
    connection is served meanwhile."""
    release = demo.release
    deployment = await asyncio.to_thread(deploy, plane, release, listener_id)
    try:
        await asyncio.to_thread(drive, release, deployment["name"], 5)
        # Rates (CPU, requests per second) need two passes: the page is opened once both are there.
        for figure in ("cpu_cores", "http_requests_per_second"):
            there = functools.partial(lambda f: latest(plane, deployment, f) is not None, figure)
            await asyncio.to_thread(wait_for, there, f"a first {figure}", GATHERED_WITHIN)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
                page.set_default_timeout(30_000)
                await page.goto(f"{release.ui_url}/sign-in")
                await page.get_by_label("API key").fill(release.admin_key)
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(f"{release.ui_url}/deployments")
                await page.goto(f"{release.ui_url}/deployments/{deployment['id']}")
                memory = page.locator('figure[data-figure="memory_bytes"]')
                for figure in ("cpu_cores", "memory_bytes", "replicas_ready", "http_requests_per_second"):
                    chart = page.locator(f'figure[data-figure="{figure}"]')
                    await expect(chart.locator("polyline")).to_have_count(1, timeout=30_000)
                    await expect(chart.locator(".chart-latest")).not_to_have_text("no data", timeout=30_000)
                before = await memory.locator("polyline").get_attribute("points")
                page_loads = []
                page.on("load", lambda _: page_loads.append(1))
                await asyncio.to_thread(drive, release, deployment["name"], 10)
                # The page's script redraws the section every 20 s; the listener adds a point per pass.
                deadline = time.monotonic() + GATHERED_WITHIN + 40
                after = before
                while len((after or "").split()) <= len((before or "").split()) and time.monotonic() < deadline:
                    await asyncio.sleep(2)
                    after = await memory.locator("polyline").get_attribute("points")
                assert len((after or "").split()) > len((before or "").split()), (before, after)
                assert page_loads == [], "the charts moved by a reload, not in place"
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                await page.locator("#metrics").screenshot(path=str(Path(SCREENSHOTS, "ui-deployment-metrics-real.png")))
            finally:
                await browser.close()
    finally:
        await asyncio.to_thread(plane.delete, deployment["id"])
