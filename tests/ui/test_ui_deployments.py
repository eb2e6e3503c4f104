"""Deployments through the UI in a real browser against the real API, Postgres and Redis:
create (and its validation errors), detail with live status, new revision, rollback, delete."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect
from ui_harness import ADMIN_KEY, screenshot, sign_in, start_server, ui_settings

IMAGE_1 = "registry.example.com/team/agent:1.0.0"
IMAGE_2 = "registry.example.com/team/agent:2.0.0"


async def create_through_form(page, server, name="my-agent", image=IMAGE_1) -> str:
    """Fills and sends the create form; returns the new deployment's id (from its page URL)."""
    await page.goto(f"{server.ui}/deployments/new")
    await page.get_by_label("Name (required)").fill(name)
    await page.get_by_label("Image (required)").fill(image)
    await page.get_by_label("Namespace").fill("agents")
    await page.get_by_label("Secret variable name 1").fill("OPENAI_API_KEY")
    await page.get_by_label("Secret value 1").fill("sk-typed-in-the-browser")
    await page.get_by_role("button", name="Create deployment").click()
    await expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    return page.url.rsplit("/", 1)[1]


async def test_create_a_deployment_and_see_it_listed(page, ui_server, listener):
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/new")
    # The only listener is preselected.
    await expect(page.get_by_label("Listener (required)")).to_have_value(listener["id"])
    await screenshot(page, "deployment-new")
    deployment_id = await create_through_form(page, ui_server)
    await expect(page.get_by_role("status")).to_contain_text("Deployment my-agent created")
    await expect(page.get_by_text("https://langsmith.example.com/lgp/my-agent")).to_be_visible()

    async with ui_server.admin() as admin:
        stored = (await admin.get(f"/deployments/{deployment_id}")).json()
        revisions = (await admin.get(f"/deployments/{deployment_id}/revisions")).json()["resources"]
    assert stored["name"] == "my-agent"
    assert stored["source_config"]["listener_config"]["k8s_namespace"] == "agents"
    assert stored["source_revision_config"]["image_uri"] == IMAGE_1
    assert stored["secrets"] == [{"name": "OPENAI_API_KEY"}]
    assert [r["status"] for r in revisions] == ["QUEUED"]
    # The secret's value is write-only: the page never shows it.
    assert "sk-typed-in-the-browser" not in await page.content()

    await page.get_by_role("link", name="Deployments", exact=True).click()
    row = page.get_by_role("row", name="my-agent")
    await expect(row).to_contain_text("AWAITING_DATABASE")
    await expect(row).to_contain_text(IMAGE_1)
    await expect(row).to_contain_text("https://langsmith.example.com/lgp/my-agent")
    await screenshot(page, "deployments")


async def test_name_filter_narrows_the_list(page, ui_server, listener):
    async with ui_server.admin() as admin:
        for name in ("billing-agent", "search-agent"):
            response = await admin.post(
                "/deployments",
                json={
                    "name": name,
                    "source_config": {"listener_id": listener["id"]},
                    "source_revision_config": {"image_uri": IMAGE_1},
                },
            )
            assert response.status_code == 201, response.text
    await sign_in(page, ui_server)
    await page.get_by_label("Name contains").fill("bill")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("link", name="billing-agent", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="search-agent", exact=True)).to_have_count(0)


async def test_validation_errors_are_shown_next_to_their_fields_and_input_is_kept(page, ui_server, listener):
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/new")
    await page.get_by_label("Name (required)").fill("My_Agent!")
    await page.get_by_label("Image (required)").fill(IMAGE_1)
    await page.get_by_label("Namespace").fill("agents")
    await page.get_by_label("CPU request (cores)").fill("2")
    await page.get_by_label("CPU limit (cores)").fill("1")
    await page.get_by_label("Secret variable name 1").fill("DATABASE_URI")
    await page.get_by_label("Secret value 1").fill("postgres://typed")
    await page.get_by_role("button", name="Create deployment").click()

    await expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    name = page.get_by_label("Name (required)")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_have_value("My_Agent!")
    name_error = page.locator("#" + (await name.get_attribute("aria-describedby")).split()[-1])
    await expect(name_error).to_contain_text("Error:")
    # The secret's name error sits next to that row's field; what was typed stays.
    secret_name = page.get_by_label("Secret variable name 1")
    await expect(secret_name).to_have_attribute("aria-invalid", "true")
    await expect(secret_name).to_have_value("DATABASE_URI")
    await expect(page.get_by_text("DATABASE_URI is set by the platform")).to_be_visible()
    await expect(page.get_by_label("Secret value 1")).to_have_value("postgres://typed")
    await expect(page.get_by_label("Image (required)")).to_have_value(IMAGE_1)
    await expect(page.get_by_label("CPU limit (cores)")).to_have_value("1")
    await screenshot(page, "deployment-new-errors")

    async with ui_server.admin() as admin:
        assert (await admin.get("/deployments")).json()["resources"] == []

    # Until the resources rule is met, it stays named next to its fieldset.
    await name.fill("my-agent")
    await secret_name.fill("OPENAI_API_KEY")
    await page.get_by_role("button", name="Create deployment").click()
    await expect(page.get_by_text("cpu_limit must be at least cpu")).to_be_visible()
    await expect(page.get_by_label("CPU request (cores)")).to_have_value("2")
    await page.get_by_label("CPU limit (cores)").fill("2")
    await page.get_by_role("button", name="Create deployment").click()
    await expect(page.get_by_role("heading", name="my-agent", exact=True)).to_be_visible()


async def test_duplicate_name_is_refused_at_the_name_field(page, ui_server, listener):
    await sign_in(page, ui_server)
    await create_through_form(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/new")
    await page.get_by_label("Name (required)").fill("my-agent")
    await page.get_by_label("Image (required)").fill(IMAGE_2)
    await page.get_by_role("button", name="Create deployment").click()
    await expect(page.get_by_label("Name (required)")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_text("a deployment named 'my-agent' already exists")).to_be_visible()
    await expect(page.get_by_label("Image (required)")).to_have_value(IMAGE_2)


async def report(server, revision_id: str, status: str) -> None:
    """What the listener does as it rolls a revision out (the real listener-facing endpoint,
    with the listener key: admin keys get 403 there)."""
    async with server.listener() as listener:
        response = await listener.post(
            f"/listener-api/revisions/{revision_id}/status",
            json={
                "status": status,
                "message": None,
                "events": [
                    {
                        "type": "Normal",
                        "reason": "Listener",
                        "message": f"now {status}",
                        "object": "Deployment/agents/my-agent",
                    }
                ],
            },
        )
    assert response.status_code == 200, response.text


async def test_detail_page_follows_the_rollout_without_reloading(page, ui_server, listener):
    await sign_in(page, ui_server)
    deployment_id = await create_through_form(page, ui_server)
    async with ui_server.admin() as admin:
        (revision,) = (await admin.get(f"/deployments/{deployment_id}/revisions")).json()["resources"]
        cell = page.locator(f'[data-live-revision="{revision["id"]}"]')
        await expect(cell).to_contain_text("QUEUED")
        # A marker that a reload would lose: the poll must update the page in place.
        await page.evaluate("window.notReloaded = true")
        await report(ui_server, revision["id"], "DEPLOYING")
        await expect(cell).to_contain_text("DEPLOYING", timeout=10_000)
        await report(ui_server, revision["id"], "DEPLOYED")
        await expect(cell).to_contain_text("DEPLOYED", timeout=10_000)
    await expect(page.locator("[data-live-active]")).to_contain_text(revision["id"][:8])
    await expect(page.locator("[data-active-tag]")).to_be_visible()
    assert await page.evaluate("window.notReloaded") is True
    await screenshot(page, "deployment-detail")

    await page.get_by_role("link", name=f"Logs of revision {revision['id'][:8]}").click()
    await expect(page.get_by_role("cell", name="now DEPLOYED")).to_be_visible()
    await expect(page.get_by_role("cell", name="now DEPLOYING")).to_be_visible()
    await screenshot(page, "revision-logs")


async def roll_out(server, revision_id: str) -> None:
    await report(server, revision_id, "DEPLOYING")
    await report(server, revision_id, "DEPLOYED")


async def test_update_image_then_roll_back_to_the_first_revision(page, ui_server, listener):
    await sign_in(page, ui_server)
    deployment_id = await create_through_form(page, ui_server)
    async with ui_server.admin() as admin:
        (first,) = (await admin.get(f"/deployments/{deployment_id}/revisions")).json()["resources"]
        await roll_out(ui_server, first["id"])
    await page.get_by_role("link", name="Update (new revision)").click()
    await expect(page.get_by_label("Image (required)")).to_have_value(IMAGE_1)
    await page.get_by_label("Image (required)").fill(IMAGE_2)
    await page.get_by_label("Memory request (MiB)").fill("2048")
    await screenshot(page, "deployment-edit")
    await page.get_by_role("button", name="Create new revision").click()
    await expect(page.get_by_role("status")).to_contain_text("New revision created")

    async with ui_server.admin() as admin:
        second = (await admin.get(f"/deployments/{deployment_id}/revisions")).json()["resources"][0]
        await roll_out(ui_server, second["id"])
    assert second["source_revision_config"]["image_uri"] == IMAGE_2
    assert second["resource_spec"]["memory_mb"] == 2048
    # Secrets were not replaced: the new revision keeps the first one's.
    assert second["secrets"] == [{"name": "OPENAI_API_KEY"}]

    await page.reload()
    await page.get_by_role("button", name=f"Redeploy revision {first['id'][:8]}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Redeploying revision {first['id'][:8]}")
    async with ui_server.admin() as admin:
        deployment = (await admin.get(f"/deployments/{deployment_id}")).json()
        newest = (await admin.get(f"/deployments/{deployment_id}/revisions")).json()["resources"][0]
        assert newest["redeployed_from_revision_id"] == first["id"]
        assert newest["source_revision_config"]["image_uri"] == IMAGE_1
        assert newest["resource_spec"]["memory_mb"] == first["resource_spec"]["memory_mb"]
        assert deployment["latest_revision_id"] == newest["id"]
        # The second revision serves until the rollback is deployed.
        assert deployment["active_revision_id"] == second["id"]
        await expect(page.get_by_text(f"redeploys {first['id'][:8]}")).to_be_visible()
        await roll_out(ui_server, newest["id"])
    await expect(page.locator("[data-live-active]")).to_contain_text(newest["id"][:8], timeout=10_000)
    await expect(page.locator(f'[data-live-revision="{newest["id"]}"]')).to_contain_text("DEPLOYED")
    await screenshot(page, "deployment-history")


async def test_update_errors_keep_the_input_and_change_nothing(page, ui_server, listener):
    await sign_in(page, ui_server)
    deployment_id = await create_through_form(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment_id}/edit")
    await page.get_by_label("Minimum replicas").fill("5")
    await page.get_by_label("Maximum replicas").fill("2")
    await page.get_by_label("Image (required)").fill("not an image")
    await page.get_by_role("button", name="Create new revision").click()
    await expect(page.get_by_label("Image (required)")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Image (required)")).to_have_value("not an image")
    await expect(page.get_by_label("Minimum replicas")).to_have_value("5")
    async with ui_server.admin() as admin:
        revisions = (await admin.get(f"/deployments/{deployment_id}/revisions")).json()["resources"]
    assert len(revisions) == 1

    # Submitting the form unchanged is refused too: it would make an identical revision.
    await page.goto(f"{ui_server.ui}/deployments/{deployment_id}/edit")
    await page.get_by_role("button", name="Create new revision").click()
    await expect(page.get_by_role("alert")).to_contain_text("Nothing changed")


async def test_delete_asks_for_the_name_then_deletes(page, ui_server, listener):
    await sign_in(page, ui_server)
    deployment_id = await create_through_form(page, ui_server)
    await page.get_by_role("link", name="Delete").click()
    await page.get_by_label("Type the deployment’s name to confirm").fill("other-name")
    await page.get_by_role("button", name="Delete deployment").click()
    await expect(page.get_by_text("Type my-agent exactly to confirm.")).to_be_visible()
    await screenshot(page, "deployment-delete")
    async with ui_server.admin() as admin:
        assert (await admin.get(f"/deployments/{deployment_id}")).json()["status"] != "AWAITING_DELETE"

    await page.get_by_label("Type the deployment’s name to confirm").fill("my-agent")
    await page.get_by_role("button", name="Delete deployment").click()
    await expect(page.get_by_role("status")).to_contain_text("my-agent is being deleted")
    async with ui_server.admin() as admin:
        assert (await admin.get(f"/deployments/{deployment_id}")).json()["status"] == "AWAITING_DELETE"


async def test_a_change_made_meanwhile_is_not_overwritten_silently(page, ui_server, listener):
    await sign_in(page, ui_server)
    deployment_id = await create_through_form(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment_id}/edit")
    await page.get_by_label("Image (required)").fill(IMAGE_2)
    # Someone else changes the deployment while the form is open.
    async with ui_server.admin() as admin:
        response = await admin.patch(
            f"/deployments/{deployment_id}", json={"source_config": {"resource_spec": {"max_scale": 3}}}
        )
        assert response.status_code == 200, response.text
    await page.get_by_role("button", name="Create new revision").click()
    await expect(page.get_by_role("alert")).to_contain_text("changed since this page was opened")
    await expect(page.get_by_label("Image (required)")).to_have_value(IMAGE_2)
    async with ui_server.admin() as admin:
        revisions = (await admin.get(f"/deployments/{deployment_id}/revisions")).json()["resources"]
    assert [r["source_revision_config"]["image_uri"] for r in revisions] == [IMAGE_1, IMAGE_1]
    # Sent again, now knowingly over the new state, it applies.
    await page.get_by_role("button", name="Create new revision").click()
    await expect(page.get_by_role("status")).to_contain_text("New revision created")
    async with ui_server.admin() as admin:
        deployment = (await admin.get(f"/deployments/{deployment_id}")).json()
    assert deployment["source_revision_config"]["image_uri"] == IMAGE_2
    assert deployment["source_config"]["resource_spec"]["max_scale"] == 3


async def test_everything_works_without_javascript(browser, ui_server, listener):
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in(page, ui_server)
        deployment_id = await create_through_form(page, ui_server, name="no-script")
        # The spare secret rows rendered by the server take a second secret without "Add a row".
        await page.goto(f"{ui_server.ui}/deployments/{deployment_id}/edit")
        await expect(page.get_by_role("button", name="Add a row").first).to_be_hidden()
        await page.get_by_label("Replace all secrets").check()
        await page.get_by_label("Secret variable name 1").fill("A_KEY")
        await page.get_by_label("Secret value 1").fill("a")
        await page.get_by_label("Secret variable name 2").fill("B_KEY")
        await page.get_by_label("Secret value 2").fill("b")
        await page.get_by_role("button", name="Create new revision").click()
        await expect(page.get_by_role("status")).to_contain_text("New revision created")
        await expect(page.get_by_text("A_KEY, B_KEY")).to_be_visible()
    finally:
        await context.close()


async def test_the_ui_works_under_a_base_path_and_a_path_of_its_own(page, ui_dsn, redis_url):
    server = await asyncio.to_thread(
        start_server, ui_settings(ui_dsn, redis_url, base_path="/langsmith", ui_path="/console")
    )
    try:
        assert server.ui.endswith("/langsmith/console")
        async with server.admin() as admin:
            response = await admin.post(
                "/listeners", json={"compute_id": "cluster-1", "compute_config": {"k8s_namespaces": ["agents"]}}
            )
            assert response.status_code == 201, response.text
        await page.goto(f"{server.ui}/deployments")
        await page.get_by_label("API key").fill(ADMIN_KEY)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{server.ui}/deployments")
        await create_through_form(page, server)
        await expect(page.get_by_text("https://langsmith.example.com/langsmith/lgp/my-agent")).to_be_visible()
        async with server.admin() as admin:
            (revision,) = (await admin.get(f"/deployments/{page.url.rsplit('/', 1)[1]}/revisions")).json()["resources"]
            await report(server, revision["id"], "DEPLOYING")
        # The page's script polls under the same prefix.
        await expect(page.locator(f'[data-live-revision="{revision["id"]}"]')).to_contain_text("DEPLOYING")
    finally:
        await asyncio.to_thread(server.stop)


def _reported_manifests(name: str, image: str) -> list[dict]:
    """Objects as the listener reports them (its Secret values already redacted)."""
    meta = {"name": name, "namespace": "agents", "labels": {"app.kubernetes.io/managed-by": "lgcp-listener"}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {**meta, "name": f"{name}-env"},
            "data": {"DATABASE_URI": "<redacted>", "OPENAI_API_KEY": "<redacted>"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {"template": {"spec": {"containers": [{"name": "langgraph-server", "image": image}]}}},
        },
    ]


async def test_the_deployment_page_shows_the_manifests_the_listener_applied(browser, ui_server, listener):
    # Without JavaScript: the preview is plain server-rendered HTML (<details>), nothing to load.
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in(page, ui_server)
        deployment_id = await create_through_form(page, ui_server, name="previewed")
        section = page.get_by_role("region", name="Manifests")
        await expect(section).to_contain_text("Not rendered yet")

        async with ui_server.admin() as admin:
            first_revision = (await admin.get(f"/deployments/{deployment_id}")).json()["latest_revision_id"]
        async with ui_server.listener() as listener_api:
            response = await listener_api.put(
                f"/listener-api/deployments/{deployment_id}/manifests",
                json={"revision_id": first_revision, "manifests": _reported_manifests("previewed", IMAGE_1)},
            )
            assert response.status_code == 204, response.text
        await page.reload()
        await expect(section).to_contain_text(f"What the listener applied for revision {first_revision[:8]}")
        await expect(section).not_to_contain_text("is not applied yet")
        secret = section.locator("details").filter(has_text="Secret previewed-env")
        deployment = section.locator("details").filter(has_text="Deployment previewed")
        await expect(deployment.locator("pre")).to_be_hidden()  # collapsed until asked for
        await deployment.locator("summary").click()
        await expect(deployment.locator("pre")).to_contain_text(f'"image": "{IMAGE_1}"')
        await secret.locator("summary").click()
        await expect(secret.locator("pre")).to_contain_text('"OPENAI_API_KEY": "<redacted>"')
        assert "sk-typed-in-the-browser" not in await page.content()
        await expect(section).to_contain_text(f"/api-host/v2/deployments/{deployment_id}/manifests")
        await screenshot(page, "deployment-manifests")

        # A new revision the listener has not rendered yet: the page says the preview lags.
        await page.goto(f"{ui_server.ui}/deployments/{deployment_id}/edit")
        await page.get_by_label("Image (required)").fill(IMAGE_2)
        await page.get_by_role("button", name="Create new revision").click()
        await expect(page.get_by_role("status")).to_contain_text("New revision created")
        async with ui_server.admin() as admin:
            latest = (await admin.get(f"/deployments/{deployment_id}")).json()["latest_revision_id"]
        await expect(section).to_contain_text(f"The latest revision, {latest[:8]}, is not applied yet.")
    finally:
        await context.close()


async def test_a_viewer_sees_the_manifests_preview_too(page, ui_server, listener):
    async with ui_server.admin() as admin:
        created = (
            await admin.post(
                "/deployments",
                json={
                    "name": "seen",
                    "source_config": {"listener_id": listener["id"]},
                    "source_revision_config": {"image_uri": IMAGE_1},
                },
            )
        ).json()
        viewer_key = (await admin.post("/api-keys", json={"name": "viewer", "role": "viewer"})).json()["key"]
    async with ui_server.listener() as listener_api:
        response = await listener_api.put(
            f"/listener-api/deployments/{created['id']}/manifests",
            json={"revision_id": created["latest_revision_id"], "manifests": _reported_manifests("seen", IMAGE_1)},
        )
        assert response.status_code == 204, response.text
    await sign_in(page, ui_server, key=viewer_key)
    await page.goto(f"{ui_server.ui}/deployments/{created['id']}")
    section = page.get_by_role("region", name="Manifests")
    await section.locator("details").filter(has_text="Deployment seen").locator("summary").click()
    await expect(section.locator("pre").nth(1)).to_contain_text(IMAGE_1)
