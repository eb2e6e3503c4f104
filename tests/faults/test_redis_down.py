"""Redis (the API's notifications to the listener) down for a while during a stream of writes:
every write still succeeds, the cluster converges through the listener's resync while Redis is
still down, and notifications work again once it is back (issue 14). The duration is
LGCP_FAULTS_REDIS_DOWN_SECONDS (default 60, the issue's minute)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from fault_checks import all_deployed, check_api, check_database, converged
from fault_plane import record
from fault_writes import Writer
from harness.redis import start_redis
from listener_support import eventually

pytestmark = pytest.mark.cluster
DOWN_SECONDS = float(os.environ.get("LGCP_FAULTS_REDIS_DOWN_SECONDS", "60"))
RESYNC_SECONDS = 5


async def test_redis_down_writes_succeed_and_converge_through_resync(plane) -> None:
    notifications = await asyncio.to_thread(start_redis)
    try:
        stack = await plane.start(notifications.url(0), LGCP_LISTENER_RESYNC_SECONDS=str(RESYNC_SECONDS))
        await eventually(stack.listeners[-1].ready, 60)
        writer = Writer(plane.api.url, plane.api.admin_key, stack.listener_id, stack.namespace)
        try:
            notifications.stop()
            down_at = time.monotonic()
            await asyncio.wait_for(writer.churn("redis", deployments=8, patches_each=2), 120)
            written = time.monotonic()
            ledger = writer.ledger
            # A 412 only of a race with a status report (read again); never a transport error.
            assert set(ledger.answers) <= {"200", "201", "412"} and not ledger.refusals(), (
                f"a write was refused: {ledger.summary()}"
            )
            to_cluster = await converged(stack.cluster, stack.namespace, stack.compute_id, ledger)
            deployed = await all_deployed(stack.admin, ledger)
            # Converged while Redis was still down: through the resync, not a late notification.
            assert time.monotonic() - down_at < DOWN_SECONDS, "converged only after the planned downtime"
            await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_at)))
            down_for = time.monotonic() - down_at
            notifications = await asyncio.to_thread(start_redis, notifications.port, notifications.password)
            back = time.monotonic()
            await writer.create("after-redis", "registry.test/agent:0")
            await converged(stack.cluster, stack.namespace, stack.compute_id, ledger)
            after = time.monotonic() - back
            assert plane.api.proc.poll() is None and stack.listeners[-1].proc.poll() is None
            found_api = await check_api(stack.admin, ledger)
            found_db = await check_database(plane.api_dsn, ledger)
            record(
                "redis-down",
                down_seconds=round(down_for, 1),
                resync_seconds=RESYNC_SECONDS,
                acknowledged=ledger.acknowledged,
                acknowledged_while_down=ledger.acknowledged - 1,
                found_in_api=found_api,
                found_in_database=found_db,
                answers=dict(ledger.answers),
                cluster_converged_after_writes_seconds=round(to_cluster, 2),
                all_deployed_after_writes_seconds=round(to_cluster + deployed, 2),
                writes_took_seconds=round(written - down_at, 2),
                write_after_redis_back_in_cluster_seconds=round(after, 2),
            )
        finally:
            await writer.aclose()
    finally:
        notifications.stop()
