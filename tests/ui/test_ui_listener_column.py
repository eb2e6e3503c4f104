"""Which listener (cluster) runs each deployment and whether it was seen lately, on the
deployments list and a deployment's page: its compute_id linking to the listeners page, and its
contact written out (seen lately, not seen for a while, never), only ever the tenant's own."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
from lgcp_api.ui.api_client import ApiClient
from lgcp_api.ui.listener_contact import STALE_AFTER, contact
from playwright.async_api import expect
from ui_harness import screenshot, sign_in

IMAGE = "registry.example.com/team/agent:1.0.0"
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def _seen(delta: dt.timedelta | None) -> dict:
    at = None if delta is None else (NOW - delta).isoformat().replace("+00:00", "Z")
    return {"id": "l1", "compute_id": "cluster-1", "last_seen_at": at}


def test_contact_states_and_the_threshold():
    assert contact(_seen(dt.timedelta(seconds=12)), NOW) | {"stale_after": None} == {
        "id": "l1",
        "compute_id": "cluster-1",
        "state": "recent",
        "text": "seen 12 s ago",
        "seen_at": "2025-06-01T11:59:48Z",
        "stale_after": None,
    }
    assert contact(_seen(STALE_AFTER), NOW)["state"] == "recent"
    stale = contact(_seen(STALE_AFTER + dt.timedelta(seconds=1)), NOW)
    assert (stale["state"], stale["text"]) == ("stale", "not seen for 2 min")
    assert contact(_seen(dt.timedelta(hours=2, minutes=5)), NOW)["text"] == "not seen for 2 h"
    assert contact(_seen(dt.timedelta(days=3)), NOW)["text"] == "not seen for 3 d"
    never = contact(_seen(None), NOW)
    assert (never["state"], never["text"], never["seen_at"]) == ("never", "never seen", None)
    # A clock a little behind the database's never shows a negative age.
    assert contact(_seen(dt.timedelta(seconds=-3)), NOW)["text"] == "seen 0 s ago"


async def _listener(admin, compute_id: str) -> dict:
    response = await admin.post(
        "/listeners", json={"compute_id": compute_id, "compute_config": {"k8s_namespaces": ["agents"]}}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _deployment(admin, listener_id: str, name: str) -> dict:
    response = await admin.post(
        "/deployments",
        json={
            "name": name,
            "source_config": {"listener_id": listener_id, "listener_config": {"k8s_namespace": "agents"}},
            "source_revision_config": {"image_uri": IMAGE},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _contact_now(ui_server, listener_id: str) -> None:
    """The listener reads its desired state, as it does every resync: that is its contact."""
    async with ui_server.listener() as data_plane:
        response = await data_plane.get(f"/listener-api/listeners/{listener_id}/desired-state")
    assert response.status_code == 200, response.text


async def test_the_list_shows_each_deployments_listener_and_its_contact(page, ui_server, listener):
    async with ui_server.admin() as admin:
        other = await _listener(admin, "cluster-2")
        await _deployment(admin, listener["id"], "agent-one")
        two = await _deployment(admin, other["id"], "agent-two")
    await _contact_now(ui_server, listener["id"])

    await sign_in(page, ui_server)
    one_row, two_row = page.get_by_role("row", name="agent-one"), page.get_by_role("row", name="agent-two")
    await expect(page.get_by_role("columnheader", name="Listener")).to_be_visible()
    link = one_row.get_by_role("link", name="cluster-1", exact=True)
    await expect(link).to_have_attribute("href", f"{ui_server.settings.ui_prefix}/listeners#listener-{listener['id']}")
    await expect(one_row.locator("[data-listener-contact]")).to_have_attribute("data-listener-contact", "recent")
    await expect(one_row.locator("[data-listener-contact]")).to_have_text(re.compile(r"^seen \d+ s ago$"))
    await expect(two_row.get_by_role("link", name="cluster-2", exact=True)).to_be_visible()
    await expect(two_row.locator("[data-listener-contact]")).to_have_text("never seen")
    await expect(two_row.locator("[data-listener-contact]")).to_have_attribute("data-listener-contact", "never")
    await expect(one_row).not_to_contain_text("cluster-2")
    await screenshot(page, "deployments-listener-column")

    # The same on the deployment's page, beside the namespace.
    await page.get_by_role("link", name="agent-two", exact=True).click()
    facts = page.locator("dl.facts")
    await expect(facts.get_by_role("link", name="cluster-2", exact=True)).to_be_visible()
    await expect(facts.locator("[data-listener-contact]")).to_have_text("never seen")
    assert page.url.endswith(two["id"])

    # The link leads to the listener's row on the listeners page.
    await facts.get_by_role("link", name="cluster-2", exact=True).click()
    await expect(page.get_by_role("heading", name="Listeners")).to_be_visible()
    assert page.url.endswith(f"/listeners#listener-{other['id']}")
    await expect(page.locator(f"#listener-{other['id']}")).to_contain_text("cluster-2")


async def test_a_listener_not_seen_for_long_is_shown_as_such(page, ui_server, ui_dsn, listener):
    async with ui_server.admin() as admin:
        deployment = await _deployment(admin, listener["id"], "my-agent")
    conn = await asyncpg.connect(ui_dsn)
    try:
        await conn.execute(
            "UPDATE listeners SET last_seen_at = now() - interval '2 hours 5 minutes' WHERE id = $1",
            listener["id"],
        )
    finally:
        await conn.close()

    await sign_in(page, ui_server)
    state = page.get_by_role("row", name="my-agent").locator("[data-listener-contact]")
    await expect(state).to_have_text("not seen for 2 h")
    await expect(state).to_have_attribute("data-listener-contact", "stale")
    await expect(state).to_have_attribute("title", re.compile("it may be stopped"))
    await expect(state.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    await screenshot(page, "deployments-listener-stale")

    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    facts = page.locator("dl.facts")
    await expect(facts.get_by_role("link", name="cluster-1", exact=True)).to_be_visible()
    await expect(facts.locator("[data-listener-contact]")).to_have_text("not seen for 2 h")

    # Its next call brings it back.
    await _contact_now(ui_server, listener["id"])
    await page.goto(f"{ui_server.ui}/deployments")
    await expect(state).to_have_attribute("data-listener-contact", "recent")


async def test_another_tenants_listeners_are_never_shown(page, ui_server, listener):
    async with ui_server.admin() as admin:
        tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
        await _deployment(admin, listener["id"], "mine")
    async with ui_server.admin(tenant["id"]) as other_admin:
        theirs = await _listener(other_admin, "cluster-of-team-b")
        await _deployment(other_admin, theirs["id"], "theirs")
        response = await other_admin.post("/api-keys", json={"name": "b admin", "role": "admin"})
        assert response.status_code == 201, response.text
        team_b_key = response.json()["key"]

    await sign_in(page, ui_server)
    await expect(page.get_by_role("row", name="mine")).to_contain_text("cluster-1")
    content = await page.content()
    assert "cluster-of-team-b" not in content and theirs["id"] not in content

    # And the other way round.
    await page.context.clear_cookies()
    await sign_in(page, ui_server, team_b_key)
    await expect(page.get_by_role("row", name="theirs")).to_contain_text("cluster-of-team-b")
    content = await page.content()
    assert "cluster-1" not in content and listener["id"] not in content


async def test_the_list_reads_the_listeners_once_for_the_page(page, ui_server, listener, monkeypatch):
    async with ui_server.admin() as admin:
        for index in range(3):
            await _deployment(admin, listener["id"], f"agent-{index}")
    reads: list[str] = []
    call = ApiClient.call

    async def counted(self, method, path, **kwargs):
        reads.append(f"{method} {path}")
        return await call(self, method, path, **kwargs)

    monkeypatch.setattr(ApiClient, "call", counted)
    await sign_in(page, ui_server)
    await expect(page.get_by_role("link", name="cluster-1", exact=True)).to_have_count(3)
    assert reads.count("GET /listeners") == 1, reads
    assert not [r for r in reads if r.startswith("GET /listeners/")], reads
