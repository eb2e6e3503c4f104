"""Signing in and out in a real browser; the session cookie's properties."""

from __future__ import annotations

from playwright.async_api import expect
from ui_harness import ADMIN_KEY, screenshot, sign_in


async def test_sign_in_with_an_admin_key_shows_the_deployments(page, ui_server):
    await page.goto(f"{ui_server.ui}/deployments")
    # Not signed in: sent to the sign-in page, which remembers where to return.
    await expect(page).to_have_url(f"{ui_server.ui}/sign-in?next=%2Fui%2Fdeployments")
    await screenshot(page, "sign-in")
    await page.get_by_label("API key").fill(ADMIN_KEY)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{ui_server.ui}/deployments")
    await expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    await expect(page.get_by_text("Role admin")).to_be_visible()


async def test_session_cookie_is_http_only_same_site_lax_and_scoped_to_the_ui(page, ui_server):
    await sign_in(page, ui_server)
    cookies = await page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "lgcp_ui_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["path"] == "/ui"
    # The key travels encrypted: the cookie never contains it.
    assert ADMIN_KEY not in session["value"]


async def test_wrong_key_is_refused_next_to_the_field_and_keeps_the_tenant(page, ui_server):
    await page.goto(f"{ui_server.ui}/sign-in")
    await page.get_by_label("API key").fill("lgcp_not_a_real_key")
    await page.get_by_label("Tenant id").fill("6f1c0f5e-3a4b-4c55-9e21-0d5a3f1b2c3d")
    await page.get_by_role("button", name="Sign in").click()
    key_field = page.get_by_label("API key")
    await expect(key_field).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_text("This API key is not valid, or it was revoked.")).to_be_visible()
    await expect(page.get_by_label("Tenant id")).to_have_value("6f1c0f5e-3a4b-4c55-9e21-0d5a3f1b2c3d")
    # Nothing signed in: the deployments page still sends us back here.
    await page.goto(f"{ui_server.ui}/deployments")
    await expect(page).to_have_url(f"{ui_server.ui}/sign-in?next=%2Fui%2Fdeployments")


async def test_malformed_tenant_is_named_next_to_its_field(page, ui_server):
    await page.goto(f"{ui_server.ui}/sign-in")
    await page.get_by_label("API key").fill(ADMIN_KEY)
    await page.get_by_label("Tenant id").fill("team-a")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_label("Tenant id")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_text("A tenant id is a UUID")).to_be_visible()
    await expect(page.get_by_label("Tenant id")).to_have_value("team-a")


async def test_sign_out_ends_the_session(page, ui_server):
    await sign_in(page, ui_server)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await page.goto(f"{ui_server.ui}/listeners")
    await expect(page).to_have_url(f"{ui_server.ui}/sign-in?next=%2Fui%2Flisteners")


async def test_keyboard_alone_signs_in_and_reaches_every_section(page, ui_server):
    await page.goto(f"{ui_server.ui}/sign-in")
    # The first Tab stop is the skip link, which jumps over the header to the form.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("API key")).to_be_focused()
    await page.keyboard.type(ADMIN_KEY)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{ui_server.ui}/deployments")
    for _ in range(3):  # skip link, brand, then the first section of the navigation
        await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Deployments", exact=True)).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Listeners")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Listeners")).to_be_visible()


async def test_a_platform_key_signs_in_to_the_tenant_it_names(page, ui_server):
    async with ui_server.admin() as admin:
        tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
    async with ui_server.admin(tenant["id"]) as team_b:
        response = await team_b.post(
            "/listeners",
            json={
                "compute_id": "cluster-b",
                "compute_config": {"k8s_namespaces": ["b"]},
            },
        )
        assert response.status_code == 201, response.text
    await page.goto(f"{ui_server.ui}/sign-in")
    await page.get_by_label("API key").fill(ADMIN_KEY)
    await page.get_by_label("Tenant id").fill(tenant["id"])
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Listeners").click()
    await expect(page.get_by_role("row", name="cluster-b")).to_be_visible()
    await expect(page.get_by_text(f"Tenant {tenant['id'][:8]}")).to_be_visible()

    # Without a tenant, the same key acts in the default tenant, which has no listener.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("API key").fill(ADMIN_KEY)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Listeners").click()
    await expect(page.get_by_text("No listener has registered in this tenant yet.")).to_be_visible()
