"""A key lookup in flight while a revocation clears the auth cache must not put the revoked key
back (issue 14 defect 6), against the real app and Postgres; the lookup is held between its
database read and its cache write to make the interleaving certain."""

from __future__ import annotations

import asyncio

from api_support import client_for
from lgcp_api.auth import repository


async def test_a_lookup_that_read_before_a_revocation_does_not_cache_the_revoked_key(app, admin, monkeypatch):
    created = (await admin.post("/api-keys", json={"name": "raced", "role": "viewer"})).json()
    read_done, may_finish = asyncio.Event(), asyncio.Event()
    original = repository.find_live_key

    async def held_lookup(conn, digest, tenant):
        row = await original(conn, digest, tenant)
        if row is not None and str(row["id"]) == created["id"]:
            read_done.set()
            await may_finish.wait()  # the revocation commits and clears the cache meanwhile
        return row

    monkeypatch.setattr(repository, "find_live_key", held_lookup)
    async with client_for(app, created["key"]) as raced:
        in_flight = asyncio.create_task(raced.get("/deployments"))
        await asyncio.wait_for(read_done.wait(), 10)
        assert (await admin.delete(f"/api-keys/{created['id']}")).status_code == 204
        may_finish.set()
        assert (await in_flight).status_code == 200  # it was read while still live
        monkeypatch.setattr(repository, "find_live_key", original)
        again = await raced.get("/deployments")
        assert again.status_code == 401, "the revoked key was put back into the cache"
