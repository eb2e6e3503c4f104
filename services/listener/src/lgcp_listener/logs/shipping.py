"""The loop that reads the agents' logs and ships them to the control plane."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from lgcp_contract.desired_state import DesiredDeployment

from ..control_plane.client import ControlPlane
from .collector import LogCollector

log = logging.getLogger(__name__)
MAX_ENTRIES_PER_REPORT = 500  # the API's bound


async def ship_once(
    collector: LogCollector, control_plane: ControlPlane, deployments: Iterable[DesiredDeployment]
) -> int:
    """Reads and ships every running deployment's new entries; returns how many were shipped.
    A failure for one deployment is logged and the others go on."""
    shipped, alive = 0, set()
    for desired in deployments:
        alive.add(desired.id)
        if desired.deleting or desired.revision is None:
            continue
        try:
            entries = await collector.collect(desired)
            for start in range(0, len(entries), MAX_ENTRIES_PER_REPORT):
                batch = entries[start : start + MAX_ENTRIES_PER_REPORT]
                await control_plane.logs(desired.id, [e.body() for e in batch])
                shipped += len(batch)
        except Exception as exc:
            log.warning("shipping the logs of deployment %s failed: %s", desired.id, type(exc).__name__)
    collector.forget(alive)
    return shipped


async def run(
    collector: LogCollector,
    control_plane: ControlPlane,
    deployments: Callable[[], Iterable[DesiredDeployment]],
    interval: float = 15,
) -> None:
    """Ships every `interval` seconds until cancelled."""
    while True:
        await ship_once(collector, control_plane, list(deployments()))
        await asyncio.sleep(interval)
