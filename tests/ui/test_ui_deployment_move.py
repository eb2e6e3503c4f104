"""Moving a deployment to another listener from its page (admins), in a real browser against the
real API, Postgres and Redis: the form offers the tenant's other listeners with their namespaces,
data store and contact; the API's refusals (databases left behind, a stale page, a namespace the
listener lacks, a non-admin) come back in the form or as the UI's error pages and change nothing."""

from __future__ import annotations

import re
import uuid

from lgcp_contract.data_stores import DEDICATED, shared_store
from playwright.async_api import expect
from test_ui_security import make_deployment, make_key
from ui_harness import screenshot, sign_in

SHARED = shared_store(uuid.uuid4())


async def register(ui_server, compute_id: str, namespaces: list[str], data_store: str | None) -> dict:
    """A listener registering itself with its data store, as the chart's listener does."""
    body = {"compute_id": compute_id, "k8s_namespaces": namespaces, "data_store": data_store}
    async with ui_server.listener() as data_plane:
        response = await data_plane.post("/listener-api/register", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def deployment_on(ui_server, listener: dict) -> dict:
    async with ui_server.admin() as admin:
        return await make_deployment(admin, listener["id"])


async def stored(ui_server, deployment: dict) -> tuple[dict, int]:
    """The deployment as the API has it, and how many revisions it has."""
    async with ui_server.admin() as admin:
        found = (await admin.get(f"/deployments/{deployment['id']}")).json()
        revisions = (await admin.get(f"/deployments/{deployment['id']}/revisions")).json()["resources"]
    return found, len(revisions)


async def a_deployment_and_a_listener_to_move_it_to(
    ui_server, namespaces: list[str] | None = None, data_store: str | None = SHARED
) -> tuple[dict, dict, dict]:
    """Listener eu-1 (namespace agents, SHARED) running a deployment, and eu-2 to move it to."""
    old = await register(ui_server, "eu-1", ["agents"], SHARED)
    new = await register(ui_server, "eu-2", namespaces or ["agents"], data_store)
    return old, new, await deployment_on(ui_server, old)


async def open_move_form(page, ui_server, deployment: dict) -> None:
    """Signs in as the admin and opens the form from the deployment's page, as a user would."""
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    await page.get_by_role("link", name="Move to another listener").click()
    await expect(page.get_by_role("heading", name=f"Move {deployment['name']} to another listener")).to_be_visible()


async def hidden_fields(page) -> dict[str, str]:
    """The form's hidden fields as rendered (token, ETag, Idempotency-Key), to post it by hand."""
    fields = page.locator('form[action$="/move"] input[type="hidden"]')
    return {
        await field.get_attribute("name") or "": await field.get_attribute("value") or ""
        for field in await fields.all()
    }


async def test_only_admins_see_the_move_action_and_a_non_admins_post_is_refused(page, ui_server):
    old, new, deployment = await a_deployment_and_a_listener_to_move_it_to(ui_server)
    async with ui_server.admin() as admin:
        deployer_key = await make_key(admin, "deployer")

    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    await expect(page.get_by_role("link", name="Move to another listener")).to_be_visible()

    await page.context.clear_cookies()
    await sign_in(page, ui_server, deployer_key)
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}")
    await expect(page.get_by_role("link", name="Update (new revision)")).to_be_visible()
    await expect(page.get_by_role("link", name="Move to another listener")).to_have_count(0)
    # Posting the form anyway (with a valid token) is refused by the API's role check.
    await page.goto(f"{ui_server.ui}/deployments/{deployment['id']}/move")
    await page.get_by_label("Listener (required)").select_option(new["id"])
    async with page.expect_response(re.compile(r"/move$")) as posted:
        await page.get_by_role("button", name="Move deployment").click()
    assert (await posted.value).status == 403
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == old["id"] and revisions == 1


async def test_a_move_between_listeners_sharing_a_data_store_keeps_the_databases(page, ui_server):
    old = await register(ui_server, "eu-1", ["agents"], SHARED)
    new = await register(ui_server, "eu-2", ["agents-2", "team-b"], SHARED)
    elsewhere = await register(ui_server, "us-1", ["agents"], DEDICATED)
    deployment = await deployment_on(ui_server, old)

    await open_move_form(page, ui_server, deployment)
    # The other listeners only, each with its namespaces, data store and contact.
    options = page.get_by_label("Listener (required)").locator("option")
    await expect(options).to_have_count(3)
    await expect(page.locator(f'option[value="{old["id"]}"]')).to_have_count(0)
    same = page.locator(f'option[value="{new["id"]}"]')
    await expect(same).to_have_text(
        re.compile(
            rf"^eu-2 · namespaces: agents-2, team-b · data store: shared {SHARED[7:19]}… "
            r"\(the same: databases kept\) · seen \d+ s ago$"
        )
    )
    await expect(page.locator(f'option[value="{elsewhere["id"]}"]')).to_contain_text(
        "data store: dedicated (each agent's own Postgres) (another: new databases)"
    )
    await expect(page.locator("[data-current-store]")).to_have_text(f"shared {SHARED[7:19]}…")
    await page.get_by_label("Listener (required)").select_option(new["id"])
    await screenshot(page, "deployment-move")
    await page.get_by_role("button", name="Move deployment").click()

    await expect(page.get_by_role("status")).to_contain_text("my-agent moved: databases kept")
    assert page.url == f"{ui_server.ui}/deployments/{deployment['id']}"
    facts = page.locator("dl.facts")
    await expect(facts.get_by_role("link", name="eu-2", exact=True)).to_be_visible()
    await expect(facts).to_contain_text("namespace agents-2")
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == new["id"]
    assert found["source_config"]["listener_config"]["k8s_namespace"] == "agents-2"
    assert revisions == 2


async def test_a_move_to_another_data_store_is_refused_until_new_databases_are_allowed(page, ui_server):
    old, new, deployment = await a_deployment_and_a_listener_to_move_it_to(
        ui_server, data_store=shared_store(uuid.uuid4())
    )

    await open_move_form(page, ui_server, deployment)
    await page.get_by_label("Listener (required)").select_option(new["id"])
    async with page.expect_response(re.compile(r"/move$")) as posted:
        await page.get_by_role("button", name="Move deployment").click()
    assert (await posted.value).status == 409
    # The API's message, at the checkbox that lifts the refusal; the choice is kept.
    checkbox = page.get_by_label("Allow new databases")
    await expect(checkbox).to_have_attribute("aria-invalid", "true")
    await expect(checkbox).not_to_be_checked()
    message = page.locator("fieldset.has-error .error")
    await expect(message).to_contain_text("the agent starts on empty databases there")
    await expect(message).to_contain_text("Pass allow_new_databases=true to move it anyway")
    await expect(message).to_contain_text(old["id"])
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    await expect(page.get_by_label("Listener (required)")).to_have_value(new["id"])
    await screenshot(page, "deployment-move-refused")
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == old["id"] and revisions == 1

    await checkbox.check()
    await page.get_by_role("button", name="Move deployment").click()
    flash = page.get_by_role("status")
    await expect(flash).to_contain_text("my-agent moved on new databases. Warning:")
    await expect(flash).to_contain_text("the agent starts on empty databases there")
    await expect(flash).to_contain_text("kept where they are, not dropped")
    await expect(page.locator("dl.facts").get_by_role("link", name="eu-2", exact=True)).to_be_visible()
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == new["id"] and revisions == 2


async def test_a_page_opened_before_another_change_gets_the_current_state_and_moves_nothing(page, ui_server):
    old = await register(ui_server, "eu-1", ["agents"], SHARED)
    meanwhile = await register(ui_server, "eu-2", ["agents"], SHARED)
    chosen = await register(ui_server, "eu-3", ["agents"], SHARED)
    deployment = await deployment_on(ui_server, old)

    await open_move_form(page, ui_server, deployment)
    await page.get_by_label("Listener (required)").select_option(chosen["id"])
    # Another admin moves it while the form is open.
    async with ui_server.admin() as admin:
        response = await admin.post(f"/deployments/{deployment['id']}/move", json={"listener_id": meanwhile["id"]})
        assert response.status_code == 200, response.text
    async with page.expect_response(re.compile(r"/move$")) as posted:
        await page.get_by_role("button", name="Move deployment").click()
    assert (await posted.value).status == 412
    await expect(page.get_by_role("alert")).to_contain_text("changed since this page was opened")
    # The page shows where it runs now, and no longer offers that listener; the choice is kept.
    await expect(page.get_by_role("main").get_by_role("link", name="eu-2", exact=True)).to_be_visible()
    await expect(page.locator(f'option[value="{meanwhile["id"]}"]')).to_have_count(0)
    await expect(page.locator(f'option[value="{old["id"]}"]')).to_have_count(1)
    await expect(page.get_by_label("Listener (required)")).to_have_value(chosen["id"])
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == meanwhile["id"] and revisions == 2

    # Sent again, now knowingly over the current state, it moves.
    await page.get_by_role("button", name="Move deployment").click()
    await expect(page.get_by_role("status")).to_contain_text("databases kept")
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == chosen["id"] and revisions == 3


async def test_a_namespace_the_listener_does_not_have_is_shown_at_its_field(page, ui_server):
    old, new, deployment = await a_deployment_and_a_listener_to_move_it_to(ui_server, ["agents-2"])

    await open_move_form(page, ui_server, deployment)
    await page.get_by_label("Listener (required)").select_option(new["id"])
    namespace = page.get_by_label("Namespace")
    await namespace.fill("agents")
    await page.get_by_role("button", name="Move deployment").click()
    await expect(namespace).to_have_attribute("aria-invalid", "true")
    await expect(namespace).to_have_value("agents")
    await expect(page.locator("#f-k8s_namespace-error1")).to_contain_text(
        "not a namespace of the listener (one of: agents-2)"
    )
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == old["id"] and revisions == 1


async def test_a_move_posted_without_the_sessions_token_is_refused(page, ui_server):
    old, new, deployment = await a_deployment_and_a_listener_to_move_it_to(ui_server)
    await open_move_form(page, ui_server, deployment)
    form = {**await hidden_fields(page), "listener_id": new["id"]}
    url = f"{ui_server.ui}/deployments/{deployment['id']}/move"
    # The browser context's own cookies, so only the token is missing or wrong.
    without = {name: value for name, value in form.items() if name != "csrf_token"}
    for posted in (without, {**without, "csrf_token": "x" * 43}):
        response = await page.request.post(url, form=posted, max_redirects=0)
        assert response.status == 403
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == old["id"] and revisions == 1
    # The same post with the session's token moves it: the refusals above were the token's.
    response = await page.request.post(url, form=form, max_redirects=0)
    assert response.status == 303
    assert (await stored(ui_server, deployment))[0]["source_config"]["listener_id"] == new["id"]


async def test_the_form_sent_twice_moves_once(page, ui_server):
    _, new, deployment = await a_deployment_and_a_listener_to_move_it_to(ui_server)
    await open_move_form(page, ui_server, deployment)
    form = {**await hidden_fields(page), "listener_id": new["id"]}
    assert form.keys() == {"csrf_token", "etag", "idempotency_key", "listener_id"}
    # A double click: the same form twice. The second gets the first's answer again (without the
    # form's Idempotency-Key it would be a 412, its ETag being stale by then).
    for _ in range(2):
        response = await page.request.post(
            f"{ui_server.ui}/deployments/{deployment['id']}/move", form=form, max_redirects=0
        )
        assert response.status == 303
    found, revisions = await stored(ui_server, deployment)
    assert found["source_config"]["listener_id"] == new["id"] and revisions == 2


async def test_the_listeners_page_shows_where_each_keeps_its_databases(page, ui_server):
    # What decides whether a move keeps the data, visible before anyone opens a move form.
    shared = await register(ui_server, "eu-1", ["agents"], SHARED)
    dedicated = await register(ui_server, "us-1", ["agents"], DEDICATED)
    silent = await register(ui_server, "ap-1", ["agents"], None)
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/listeners")
    header = page.get_by_role("columnheader", name="Data store")
    await expect(header).to_be_visible()
    identity = SHARED.partition(":")[2]
    rows = {
        shared["id"]: f"shared {identity[:12]}…",
        dedicated["id"]: "dedicated (each agent's own Postgres)",
        silent["id"]: "not reported",
    }
    for listener_id, text in rows.items():
        await expect(page.locator(f"#listener-{listener_id}")).to_contain_text(text)
    # The whole id is there for comparing two listeners' stores, never an address.
    await expect(page.locator(f"#listener-{shared['id']} span[title]")).to_have_attribute("title", SHARED)
