"""The whole loop from the browser: a deployment created in the UI reaches DEPLOYED with the real
listener (`lgcp-listener run`) on the local cluster, is rolled back, and is deleted."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
from harness import processes
from playwright.async_api import expect
from ui_harness import screenshot, sign_in

pytestmark = pytest.mark.cluster
LISTENER_BIN = Path(sys.executable).with_name("lgcp-listener")


@pytest.fixture
def agents_namespace(local_cluster):
    name = f"lgcp-ui-{uuid.uuid4().hex[:6]}"
    local_cluster.apply(f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  labels:
    pod-security.kubernetes.io/enforce: restricted
""")
    yield name
    local_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
async def running_listener(ui_server, local_cluster, postgres_server, redis_server, agents_namespace):
    """`lgcp-listener run` with a listener key, watching `agents_namespace`; yields its compute id."""
    async with ui_server.admin() as admin:
        response = await admin.post("/api-keys", json={"name": "listener", "role": "listener"})
    assert response.status_code == 201, response.text
    compute_id = f"cluster-{uuid.uuid4().hex[:6]}"
    admin_db = await postgres_server.create_database(f"dp_{uuid.uuid4().hex[:8]}")
    port = processes.free_port()
    log = Path(tempfile.mkdtemp(prefix="lgcp-ui-listener-")) / "listener.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LGCP_")},
        "LGCP_LISTENER_API_URL": ui_server.api,
        "LGCP_LISTENER_API_KEY": response.json()["key"],
        "LGCP_LISTENER_COMPUTE_ID": compute_id,
        "LGCP_LISTENER_NAMESPACES": agents_namespace,
        "LGCP_LISTENER_REDIS_URL": ui_server.settings.redis_dsn,
        "LGCP_LISTENER_POSTGRES_ADMIN_URL": admin_db,
        "LGCP_LISTENER_AGENT_POSTGRES_HOST": "127.0.0.1",
        "LGCP_LISTENER_AGENT_POSTGRES_PORT": str(postgres_server.port),
        "LGCP_LISTENER_AGENT_REDIS_URL": redis_server.url(0),
        "LGCP_LISTENER_KUBECONFIG": str(local_cluster.kubeconfig),
        "LGCP_LISTENER_LEASE_NAME": f"lgcp-listener-{compute_id}",
        "LGCP_LISTENER_POD_NAME": "ui-test",
        "LGCP_LISTENER_HEALTH_PORT": str(port),
        "LGCP_LISTENER_LANGSMITH_HOSTNAME": "langsmith.example.com",
    }
    proc = processes.start([str(LISTENER_BIN), "run"], log, env=env)
    try:
        processes.wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200,
            "lgcp-listener",
            proc=proc,
            log=log,
        )
        yield compute_id
    finally:
        processes.stop(proc)


async def test_deploy_roll_back_and_delete_with_the_real_listener(
    page, ui_server, running_listener, agents_namespace, local_cluster
):
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/new")
    # The listener registered itself: it is offered in the form.
    listener = page.get_by_label("Listener (required)")
    await expect(listener.locator("option", has_text=running_listener)).to_have_count(1, timeout=30_000)
    await listener.select_option(label=f"{running_listener} (namespaces: {agents_namespace})")
    await page.get_by_label("Name (required)").fill("ui-agent")
    await page.get_by_label("Image (required)").fill("registry.test/agent:1")
    await page.get_by_label("Namespace").fill(agents_namespace)
    await page.get_by_label("CPU request (cores)").fill("0.1")
    await page.get_by_label("Memory request (MiB)").fill("128")
    await page.get_by_role("button", name="Create deployment").click()
    await expect(page.get_by_role("heading", name="ui-agent", exact=True)).to_be_visible()
    deployment_id = page.url.rsplit("/", 1)[1]

    # Live status, without reloading, until the listener reports the rollout complete.
    await page.evaluate("window.notReloaded = true")
    rows = page.locator("[data-live-revision]")
    await expect(rows.first).to_contain_text("DEPLOYED", timeout=90_000)
    await expect(page.locator("[data-live-deployment-status]")).to_contain_text("READY", timeout=30_000)
    assert await page.evaluate("window.notReloaded") is True
    first_id = await rows.first.get_attribute("data-live-revision")
    await screenshot(page, "listener-deployed")
    image = local_cluster.get_json("deployment", "ui-agent", "-n", agents_namespace)
    assert image["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.test/agent:1"

    # The revision's page carries the listener's deploy events.
    await page.get_by_role("link", name=f"Logs of revision {first_id[:8]}").click()
    await expect(page.locator("table.logs tbody tr").first).to_be_visible()

    # A new image, then a rollback to the first revision: the cluster runs image 1 again.
    await page.goto(f"{ui_server.ui}/deployments/{deployment_id}/edit")
    await page.get_by_label("Image (required)").fill("registry.test/agent:2")
    await page.get_by_role("button", name="Create new revision").click()
    await expect(rows.first).to_contain_text("DEPLOYED", timeout=90_000)
    await page.get_by_role("button", name=f"Redeploy revision {first_id[:8]}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Redeploying revision {first_id[:8]}")
    await expect(rows.first).to_contain_text("DEPLOYED", timeout=90_000)
    image = local_cluster.get_json("deployment", "ui-agent", "-n", agents_namespace)
    assert image["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.test/agent:1"

    # Delete: the listener removes the objects and the API forgets the deployment.
    await page.get_by_role("link", name="Delete").click()
    await page.get_by_label("Type the deployment’s name to confirm").fill("ui-agent")
    await page.get_by_role("button", name="Delete deployment").click()
    await expect(page.get_by_role("row", name="ui-agent")).to_contain_text("AWAITING_DELETE")
    async with ui_server.admin() as admin:
        for _ in range(120):
            if (await admin.get(f"/deployments/{deployment_id}")).status_code == 404:
                break
            await page.wait_for_timeout(500)
        else:
            pytest.fail("the listener did not finish deleting the deployment within 60 s")
    await page.reload()
    await expect(page.get_by_role("link", name="ui-agent", exact=True)).to_have_count(0)
    missing = local_cluster.kubectl("get", "deployment", "ui-agent", "-n", agents_namespace, check=False)
    assert missing.returncode != 0
