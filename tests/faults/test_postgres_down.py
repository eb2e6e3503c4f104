"""PostgreSQL stopped and started again during a stream of creates and PATCHes: the API answers
503 with Retry-After while it is down, never 500, recovers without a restart, and every write it
acknowledged is in its database and, through the listener, in the cluster (issue 14)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest
from fault_checks import all_deployed, check_api, check_database, converged
from fault_plane import record, start_postgres_again, stop_postgres
from fault_writes import Writer
from listener_support import eventually

pytestmark = pytest.mark.cluster
DOWN_SECONDS = float(os.environ.get("LGCP_FAULTS_POSTGRES_DOWN_SECONDS", "10"))


async def first_answer_200(url: str, key: str) -> float:
    """Polls GET /deployments until it answers 200; returns when (monotonic)."""
    async with httpx.AsyncClient(base_url=f"{url}/v2", headers={"X-Api-Key": key}, timeout=5) as client:
        while True:
            try:
                if (await client.get("/deployments")).status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)


async def test_postgres_stopped_during_writes_answers_503_and_loses_no_acknowledged_write(plane) -> None:
    stack = await plane.start()
    writer = Writer(plane.api.url, plane.api.admin_key, stack.listener_id, stack.namespace)
    try:
        churn = asyncio.create_task(writer.churn("pg", deployments=12, patches_each=3))
        await eventually(lambda: len(writer.ledger.created) >= 3, 60, interval=0.05)
        await asyncio.to_thread(stop_postgres, plane.api_postgres)
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(start_postgres_again, plane.api_postgres)
        restarted = time.monotonic()
        recovered = await asyncio.wait_for(first_answer_200(plane.api.url, plane.api.admin_key), 60) - restarted
        await asyncio.wait_for(churn, 240)
        ledger = writer.ledger
        assert ledger.answers["503"] > 0, f"the fault never reached a client: {ledger.summary()}"
        assert not [a for a in ledger.answers if a.startswith("5") and a != "503"], ledger.summary()
        assert all(int(v) >= 1 for v in ledger.retry_after), ledger.retry_after
        assert plane.api.proc.poll() is None, "the API exited"
        found_api = await check_api(stack.admin, ledger)
        found_db = await check_database(plane.api_dsn, ledger)
        to_cluster = await converged(stack.cluster, stack.namespace, stack.compute_id, ledger)
        deployed = await all_deployed(stack.admin, ledger)
        assert all(listener.proc.poll() is None for listener in stack.listeners), "a listener exited"
        record(
            "postgres-down",
            down_seconds=DOWN_SECONDS,
            acknowledged=ledger.acknowledged,
            found_in_api=found_api,
            found_in_database=found_db,
            answers=dict(ledger.answers),
            retry_after=sorted(ledger.retry_after),
            api_answered_200_after_restart_seconds=round(recovered, 2),
            cluster_converged_after_writes_seconds=round(to_cluster, 2),
            all_deployed_after_seconds=round(to_cluster + deployed, 2),
        )
    finally:
        await writer.aclose()
