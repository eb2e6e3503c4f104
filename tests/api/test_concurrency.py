"""Users and the listener writing the same deployment at once: serialised, never a deadlock."""

from __future__ import annotations

import asyncio


async def test_patches_and_listener_reports_interleave_without_errors(admin, role_client, deployment):
    listener = await role_client("listener")
    url = f"/deployments/{deployment['id']}"

    async def patch(i: int):
        return await admin.patch(url, json={"source_revision_config": {"image_uri": f"r.io/a:{i}"}})

    async def report(rid: str, status: str):
        return await listener.post(f"/listener-api/revisions/{rid}/status", json={"status": status})

    async def listener_loop():
        answers = []
        for _ in range(10):
            rid = (await admin.get(url)).json()["latest_revision_id"]
            answers.append(await report(rid, "DEPLOYING"))
            answers.append(await report(rid, "DEPLOYED"))
            answers.append(
                await listener.post(f"/listener-api/deployments/{deployment['id']}/status", json={"status": "READY"})
            )
        return answers

    results = await asyncio.gather(listener_loop(), *(patch(i) for i in range(10)))
    reports, patches = results[0], results[1:]
    assert {p.status_code for p in patches} == {200}
    # A report may lose the race against a newer revision (409), never fail otherwise.
    assert {r.status_code for r in reports} <= {200, 409}
    final = (await admin.get(url)).json()
    revisions = (await admin.get(f"{url}/revisions", params={"limit": 100})).json()["resources"]
    assert len(revisions) == 11
    assert revisions[0]["id"] == final["latest_revision_id"]
    statuses = [r["status"] for r in revisions]
    # Exactly the latest revision may still be unfinished; every older one was finished or superseded.
    assert all(s in {"DEPLOYED", "SKIPPED", "INTERRUPTED"} for s in statuses[1:]), statuses
    # The active revision is the newest DEPLOYED one: an older revision can no longer be
    # deployed once a newer one exists.
    deployed = [r["id"] for r in revisions if r["status"] == "DEPLOYED"]
    assert final["active_revision_id"] == (deployed[0] if deployed else None)
