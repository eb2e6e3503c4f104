"""What the UI refuses: other tenants' objects, cross-site and tokenless form posts, revoked
keys, and actions beyond the signed-in role."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.async_api import expect
from ui_harness import ADMIN_KEY, screenshot, sign_in, start_server, ui_settings

IMAGE = "registry.example.com/team/agent:1.0.0"


async def make_deployment(admin, listener_id: str, name: str = "my-agent") -> dict:
    response = await admin.post(
        "/deployments",
        json={
            "name": name,
            "source_config": {"listener_id": listener_id},
            "source_revision_config": {"image_uri": IMAGE},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_key(admin, role: str) -> str:
    response = await admin.post("/api-keys", json={"name": f"{role} key", "role": role})
    assert response.status_code == 201, response.text
    return response.json()["key"]


async def test_another_tenants_deployment_is_not_reachable_by_url(page, ui_server, listener):
    async with ui_server.admin() as admin:
        tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
        deployer_key = await make_key(admin, "deployer")
        mine = await make_deployment(admin, listener["id"], "mine")
    async with ui_server.admin(tenant["id"]) as other_admin:
        other_listener = (
            await other_admin.post(
                "/listeners",
                json={
                    "compute_id": "cluster-b",
                    "compute_config": {"k8s_namespaces": ["b"]},
                },
            )
        ).json()
        theirs = await make_deployment(other_admin, other_listener["id"], "theirs")
        (their_revision,) = (await other_admin.get(f"/deployments/{theirs['id']}/revisions")).json()["resources"]

    await sign_in(page, ui_server, deployer_key)
    await expect(page.get_by_role("link", name="mine", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="theirs", exact=True)).to_have_count(0)
    base = f"{ui_server.ui}/deployments/{theirs['id']}"
    for url in (base, f"{base}/edit", f"{base}/delete", f"{base}/revisions/{their_revision['id']}"):
        response = await page.goto(url)
        assert response.status == 404, url
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        assert "theirs" not in await page.content()
    await screenshot(page, "not-found")
    response = await page.request.get(f"{base}/status.json")
    assert response.status == 404
    # A deployment of one's own tenant is there, so the 404 above is the tenant boundary.
    assert (await page.goto(f"{ui_server.ui}/deployments/{mine['id']}")).status == 200


class _AttackerPage(BaseHTTPRequestHandler):
    """A page on another site that posts a form to the UI as soon as it loads."""

    target = ""

    def do_GET(self):
        body = (
            f'<form method="post" action="{self.target}">'
            '<input name="confirm_name" value="my-agent"><input name="csrf_token" value="guess">'
            "</form><script>document.forms[0].submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def attacker_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # "localhost" and "127.0.0.1" are different sites to the browser.
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


async def test_cross_site_form_post_is_refused(page, ui_server, listener, attacker_site):
    async with ui_server.admin() as admin:
        deployment = await make_deployment(admin, listener["id"])
    await sign_in(page, ui_server)
    _AttackerPage.target = f"{ui_server.ui}/deployments/{deployment['id']}/delete"
    async with page.expect_response(_AttackerPage.target) as posted:
        await page.goto(attacker_site)
    response = await posted.value
    assert response.status == 403
    await expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    await screenshot(page, "form-refused")
    async with ui_server.admin() as admin:
        assert (await admin.get(f"/deployments/{deployment['id']}")).json()["status"] != "AWAITING_DELETE"


async def test_same_site_post_without_the_sessions_token_is_refused(page, ui_server, listener):
    async with ui_server.admin() as admin:
        deployment = await make_deployment(admin, listener["id"])
    await sign_in(page, ui_server)
    url = f"{ui_server.ui}/deployments/{deployment['id']}/delete"
    # The browser context's own cookies, so only the token is missing or wrong.
    for form in ({"confirm_name": "my-agent"}, {"confirm_name": "my-agent", "csrf_token": "x" * 43}):
        response = await page.request.post(url, form=form)
        assert response.status == 403
    async with ui_server.admin() as admin:
        assert (await admin.get(f"/deployments/{deployment['id']}")).json()["status"] != "AWAITING_DELETE"


async def test_revoking_the_key_ends_its_session(page, ui_server):
    async with ui_server.admin() as admin:
        viewer_key = await make_key(admin, "viewer")
        keys = (await admin.get("/api-keys")).json()["resources"]
        (viewer,) = [k for k in keys if k["role"] == "viewer"]
    await sign_in(page, ui_server, viewer_key)
    async with ui_server.admin() as admin:
        assert (await admin.delete(f"/api-keys/{viewer['id']}")).status_code == 204
    await page.goto(f"{ui_server.ui}/listeners")
    await expect(page).to_have_url(f"{ui_server.ui}/sign-in?next=%2Fui%2Flisteners")
    await expect(page.get_by_role("status")).to_contain_text("no longer valid")


async def test_a_viewer_sees_no_write_actions_and_cannot_post_them(page, ui_server, listener):
    async with ui_server.admin() as admin:
        viewer_key = await make_key(admin, "viewer")
        deployment = await make_deployment(admin, listener["id"])
    await sign_in(page, ui_server, viewer_key)
    await expect(page.get_by_role("link", name="New deployment")).to_have_count(0)
    await expect(page.get_by_role("link", name="API keys")).to_have_count(0)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    await expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    assert (await page.goto(f"{ui_server.ui}/api-keys")).status == 403
    # Posting the form anyway (with a valid token) is refused by the API's role check.
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/delete")
    await page.get_by_label("Type the deployment’s name to confirm").fill("my-agent")
    await page.get_by_role("button", name="Delete deployment").click()
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    async with ui_server.admin() as admin:
        assert (await admin.get(f"/deployments/{deployment['id']}")).json()["status"] != "AWAITING_DELETE"


async def test_listener_keys_cannot_sign_in(page, ui_server):
    async with ui_server.admin() as admin:
        listener_key = await make_key(admin, "listener")
    await page.goto(f"{ui_server.ui}/sign-in")
    await page.get_by_label("API key").fill(listener_key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("Listener keys are for the data plane")).to_be_visible()


async def test_pages_forbid_framing_and_foreign_scripts_and_are_not_cached(ui_server):
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{ui_server.ui}/sign-in")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_cookie_is_secure_by_default_and_follows_the_base_and_ui_paths(ui_dsn, redis_url):
    server = start_server(
        ui_settings(ui_dsn, redis_url, ui_cookie_secure=True, base_path="/langsmith", ui_path="/console")
    )
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{server.url}/langsmith/console/sign-in")
            assert response.status_code == 200
            cookie = response.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
            assert "path=/langsmith/console" in cookie
            assert 'href="/langsmith/console/static/ui.css' in response.text
            assert (await client.get(f"{server.url}/langsmith/console/static/ui.css")).status_code == 200
            assert (await client.get(f"{server.url}/ui/sign-in")).status_code == 404
            # The API key never appears in the cookie, even encoded. (httpx keeps Secure
            # cookies off plain http, as browsers do: the cookie is sent by hand here.)
            signed_in = await client.post(
                f"{server.url}/langsmith/console/sign-in",
                data={"api_key": ADMIN_KEY, "csrf_token": _csrf(response.text)},
                headers={"Origin": server.url, "Cookie": f"lgcp_ui_session={response.cookies['lgcp_ui_session']}"},
            )
            assert signed_in.status_code == 303
            assert ADMIN_KEY not in signed_in.headers["set-cookie"]
    finally:
        server.stop()


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_oversized_form_is_refused_before_it_is_read(ui_server):
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{ui_server.ui}/sign-in", data={"api_key": "x" * (2 << 20)}, headers={"Origin": ui_server.url}
        )
    assert response.status_code == 413
