"""The listeners page and API key administration, in a real browser."""

from __future__ import annotations

import httpx
from playwright.async_api import expect
from ui_harness import screenshot, sign_in


async def test_listeners_are_listed_with_their_namespaces(page, ui_server, listener):
    await sign_in(page, ui_server)
    await page.get_by_role("link", name="Listeners").click()
    row = page.get_by_role("row", name="cluster-1")
    await expect(row).to_contain_text("agents, team-b")
    await expect(row).to_contain_text(listener["id"])
    # Cells after the compute id (the row's header): namespaces, data store, registered, last
    # changed, last contact.
    await expect(row.get_by_role("cell").nth(1)).to_have_text("not reported")  # made by an admin
    await expect(row.get_by_role("cell").nth(4)).to_have_text("never")
    await screenshot(page, "listeners")


async def test_listeners_page_shows_the_last_contact(page, ui_server, listener):
    async with ui_server.listener() as data_plane:
        response = await data_plane.get(f"/listener-api/listeners/{listener['id']}/desired-state")
        assert response.status_code == 200, response.text
    async with ui_server.admin() as admin:
        seen = (await admin.get(f"/listeners/{listener['id']}")).json()["last_seen_at"]
    assert seen is not None
    await sign_in(page, ui_server)
    await page.get_by_role("link", name="Listeners").click()
    contact = page.get_by_role("row", name="cluster-1").get_by_role("cell").nth(4)
    await expect(contact).to_have_text(f"{seen[:19].replace('T', ' ')} UTC")
    await expect(contact.locator("time")).to_have_attribute("datetime", seen)


async def test_create_a_key_shown_once_that_works_then_revoke_it(page, ui_server):
    await sign_in(page, ui_server)
    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label("Name (required)").fill("ci")
    await page.get_by_label("Role").select_option("deployer")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.get_by_role("heading", name="Key “ci” created")).to_be_visible()
    key = await page.get_by_label("The new deployer key").input_value()
    await screenshot(page, "api-key-created")
    async with httpx.AsyncClient(base_url=f"{ui_server.api}/v2", headers={"X-Api-Key": key}) as client:
        assert (await client.get("/deployments")).status_code == 200

    # Shown once: the list afterwards has only the key's first characters.
    await page.goto(f"{ui_server.ui}/api-keys")
    assert key not in await page.content()
    row = page.get_by_role("row", name="ci")
    await expect(row).to_contain_text(key[:11])
    await row.get_by_role("button", name="Revoke key ci").click()
    await expect(page.get_by_role("status")).to_contain_text("revoked")
    await expect(page.get_by_role("row", name="ci")).to_contain_text("revoked")
    async with httpx.AsyncClient(base_url=f"{ui_server.api}/v2", headers={"X-Api-Key": key}) as client:
        assert (await client.get("/deployments")).status_code == 401


async def test_key_without_a_name_is_refused_next_to_the_field(page, ui_server):
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/api-keys")
    await page.get_by_label("Role").select_option("viewer")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.get_by_label("Name (required)")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Role")).to_have_value("viewer")
    async with ui_server.admin() as admin:
        roles = [k["role"] for k in (await admin.get("/api-keys")).json()["resources"]]
    assert "viewer" not in roles
