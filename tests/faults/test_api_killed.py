"""The API SIGKILLed during a stream of writes and started again (as a Deployment's new pod):
clients that retry a create with the same Idempotency-Key, and a PATCH with the same If-Match,
get exactly one effect each, and the cluster converges to what was acknowledged (issue 14)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from fault_checks import all_deployed, check_api, check_database, converged
from fault_plane import record
from fault_writes import Writer
from listener_support import eventually

pytestmark = pytest.mark.cluster
CUT = ("ReadError", "RemoteProtocolError", "WriteError")  # sent, and no answer came back
MAX_KILLS = 12


async def test_api_killed_mid_request_gives_each_retried_write_exactly_one_effect(plane) -> None:
    stack = await plane.start()
    writer = Writer(plane.api.url, plane.api.admin_key, stack.listener_id, stack.namespace)
    rng = random.Random(14)
    kills, restarts = 0, []
    try:
        churn = asyncio.create_task(writer.churn("kill", deployments=10, patches_each=3, concurrency=6))
        await eventually(lambda: len(writer.ledger.created) >= 2, 60, interval=0.05)
        # Kill until some request was cut after it was sent (not merely refused while down).
        while not churn.done() and kills < MAX_KILLS:
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            env = plane.kill_api()
            kills += 1
            started = time.monotonic()
            await asyncio.to_thread(plane.start_api_again, env)
            restarts.append(time.monotonic() - started)
            if sum(writer.ledger.answers[c] for c in CUT) >= 3:
                break
        await asyncio.wait_for(churn, 240)
        ledger = writer.ledger
        cut = sum(ledger.answers[c] for c in CUT)
        assert cut > 0, f"no request was in flight at any of {kills} kills: {ledger.summary()}"
        assert not [a for a in ledger.answers if a.startswith("5") and a != "503"], ledger.summary()
        found_api = await check_api(stack.admin, ledger)
        found_db = await check_database(plane.api_dsn, ledger)
        to_cluster = await converged(stack.cluster, stack.namespace, stack.compute_id, ledger)
        deployed = await all_deployed(stack.admin, ledger)
        record(
            "api-killed",
            kills=kills,
            requests_cut_in_flight=cut,
            acknowledged=ledger.acknowledged,
            found_in_api=found_api,
            found_in_database=found_db,
            answers=dict(ledger.answers),
            replayed_creates=ledger.replayed,
            patches_found_applied_after_a_lost_answer=ledger.recovered_patches,
            api_restart_seconds_max=round(max(restarts), 2),
            cluster_converged_after_writes_seconds=round(to_cluster, 2),
            all_deployed_after_seconds=round(to_cluster + deployed, 2),
        )
    finally:
        await writer.aclose()
