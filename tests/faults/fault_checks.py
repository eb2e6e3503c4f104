"""What a fault case compares with its Ledger once the fault is over: the API's answers, the
API's database and the cluster must each hold every acknowledged write exactly once."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
from fault_writes import Ledger
from lgcp_contract import labels as L


async def listed(admin: httpx.AsyncClient, path: str) -> list[dict]:
    """Every item of a paged list."""
    items: list[dict] = []
    while True:
        response = await admin.get(path, params={"limit": 100, "offset": len(items)})
        assert response.status_code == 200, response.text
        page = response.json()["resources"]
        items += page
        if len(page) < 100:
            return items


async def check_api(admin: httpx.AsyncClient, ledger: Ledger) -> int:
    """The API lists each acknowledged deployment once, at its last acknowledged image, with one
    revision per acknowledged write (a retried write that took effect twice would show two).
    Returns how many writes it found."""
    deployments = {d["name"]: d for d in await listed(admin, "/deployments")}
    assert set(deployments) == set(ledger.created), "the API lists other deployments than were acknowledged"
    found = 0
    for name, deployment_id in ledger.created.items():
        d = deployments[name]
        assert d["id"] == deployment_id, f"{name}: the API holds another deployment than it acknowledged"
        assert d["source_revision_config"]["image_uri"] == ledger.images[deployment_id], name
        revisions = await listed(admin, f"/deployments/{deployment_id}/revisions")
        assert len(revisions) == 1 + ledger.revisions[deployment_id], (
            name,
            len(revisions),
            ledger.revisions[deployment_id],
        )
        found += len(revisions)
    return found


async def check_database(dsn: str, ledger: Ledger) -> int:
    """The API's PostgreSQL holds the same: one row per deployment, one revision per write."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT d.name, d.id::text AS id, d.source_revision_config->>'image_uri' AS image, "
            "(SELECT count(*) FROM revisions r WHERE r.deployment_id = d.id) AS revisions FROM deployments d"
        )
    finally:
        await conn.close()
    held = {r["name"]: r for r in rows}
    assert set(held) == set(ledger.created), "the database holds other deployments than were acknowledged"
    for name, deployment_id in ledger.created.items():
        row = held[name]
        assert (row["id"], row["image"]) == (deployment_id, ledger.images[deployment_id]), name
        assert row["revisions"] == 1 + ledger.revisions[deployment_id], (name, row["revisions"])
    return sum(r["revisions"] for r in rows)


def cluster_images(cluster, namespace: str, compute_id: str) -> dict[str, str]:
    """name -> image of every Deployment the listener owns in `namespace`."""
    items = cluster.get_json("deployments", "-n", namespace, "-l", L.owned_selector(compute_id))["items"]
    return {i["metadata"]["name"]: i["spec"]["template"]["spec"]["containers"][0]["image"] for i in items}


async def converged(cluster, namespace: str, compute_id: str, ledger: Ledger, within: float = 180) -> float:
    """Waits until the cluster runs exactly the acknowledged deployments at their last images;
    returns the seconds it took. Fails naming what still differs."""
    want = {name: ledger.images[i] for name, i in ledger.created.items()}
    started = time.monotonic()
    have: dict[str, str] = {}
    while time.monotonic() - started < within:
        have = await asyncio.to_thread(cluster_images, cluster, namespace, compute_id)
        if have == want:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    differ = {n: (want.get(n), have.get(n)) for n in set(want) | set(have) if want.get(n) != have.get(n)}
    raise AssertionError(f"the cluster did not converge within {within}s: (wanted, found) {differ}")


async def all_deployed(admin: httpx.AsyncClient, ledger: Ledger, within: float = 180) -> float:
    """Waits until every deployment's latest revision is DEPLOYED; returns the seconds it took."""
    started = time.monotonic()
    pending = dict(ledger.created)
    while pending and time.monotonic() - started < within:
        for name, deployment_id in list(pending.items()):
            d = (await admin.get(f"/deployments/{deployment_id}")).json()
            revision = (await admin.get(f"/deployments/{deployment_id}/revisions/{d['latest_revision_id']}")).json()
            if revision["status"] == "DEPLOYED":
                del pending[name]
        if pending:
            await asyncio.sleep(0.5)
    assert not pending, f"not DEPLOYED within {within}s: {sorted(pending)}"
    return time.monotonic() - started
