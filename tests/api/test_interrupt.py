"""POST /v2/deployments/{id}/revisions/{revision_id}/interrupt (issue 17): a revision still
rolling out stops and the active one comes back as a new desired state; a finished one is 409."""

from __future__ import annotations


async def report(listener, revision_id: str, status: str) -> None:
    response = await listener.post(f"/listener-api/revisions/{revision_id}/status", json={"status": status})
    assert response.status_code == 200, response.text


async def test_interrupting_a_rollout_restores_the_active_revision(role_client, admin, deployment):
    listener = await role_client("listener")
    url = f"/deployments/{deployment['id']}"
    first = deployment["latest_revision_id"]
    await report(listener, first, "DEPLOYED")
    patched = await admin.patch(
        url, json={"source_revision_config": {"image_uri": "registry.example.com/team/agent:2"}}
    )
    second = patched.json()["latest_revision_id"]
    await report(listener, second, "DEPLOYING")

    response = await admin.post(f"{url}/revisions/{second}/interrupt")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "INTERRUPTED"
    now = (await admin.get(url)).json()
    restored = now["latest_revision_id"]
    assert restored not in (first, second)
    assert now["source_revision_config"]["image_uri"] == "registry.example.com/team/agent:1.0.0"
    revision = (await admin.get(f"{url}/revisions/{restored}")).json()
    assert revision["status"] == "QUEUED" and revision["source_revision_config"]["image_uri"].endswith("agent:1.0.0")
    # The listener's desired state now carries the restored revision.
    state = (
        await listener.get(f"/listener-api/listeners/{deployment['source_config']['listener_id']}/desired-state")
    ).json()
    assert [d["revision"]["id"] for d in state["deployments"]] == [restored]


async def test_a_finished_revision_answers_409(role_client, admin, deployment):
    listener = await role_client("listener")
    first = deployment["latest_revision_id"]
    await report(listener, first, "DEPLOYED")
    response = await admin.post(f"/deployments/{deployment['id']}/revisions/{first}/interrupt")
    assert response.status_code == 409
    assert "DEPLOYED" in response.json()["detail"]


async def test_a_first_rollout_has_nothing_to_restore(admin, deployment):
    response = await admin.post(
        f"/deployments/{deployment['id']}/revisions/{deployment['latest_revision_id']}/interrupt"
    )
    assert response.status_code == 409
    assert "no earlier revision" in response.json()["detail"]
    revision = (await admin.get(f"/deployments/{deployment['id']}/revisions/{deployment['latest_revision_id']}")).json()
    assert revision["status"] == "QUEUED"


async def test_a_viewer_may_not_interrupt(role_client, deployment):
    viewer = await role_client("viewer")
    response = await viewer.post(
        f"/deployments/{deployment['id']}/revisions/{deployment['latest_revision_id']}/interrupt"
    )
    assert response.status_code == 403
