"""The informer's cache: our own writes recorded ahead of their watch events (issue 14 defect 4).

resourceVersion is opaque (Kubernetes API conventions): the cache never compares two as numbers,
only for equality with what the list and the watch delivered. A scripted list/watch stands in for
the API server (pure logic: the order of events is what is tested).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

from lgcp_listener.kube.informer import Informer
from lgcp_listener.objects import Manifest
from listener_support import eventually


def secret(version: str, marker: str) -> Manifest:
    return {"kind": "Secret", "metadata": {"name": "s", "resourceVersion": version}, "data": {"m": marker}}


class ScriptedListWatch:
    """Lists `listed`, then delivers the events put on `events` (and then waits)."""

    def __init__(self, listed: list[Manifest]) -> None:
        self.listed = listed
        self.events: asyncio.Queue[Manifest] = asyncio.Queue()
        self.delivered = 0

    async def list(
        self, kind: str, namespace: str | None, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> tuple[list[Manifest], str]:
        return list(self.listed), "list-version"

    async def watch(
        self,
        kind: str,
        namespace: str | None,
        resource_version: str,
        *,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[Manifest]:
        while True:
            event = await self.events.get()
            yield event
            self.delivered += 1


async def run_informer(source: ScriptedListWatch, *events: Manifest) -> tuple[Informer, asyncio.Task[None]]:
    informer = Informer(source, "Secret", "ns", "", lambda *_: None)
    task = asyncio.create_task(informer.run())
    await eventually(informer.synced.is_set, 5)
    for event in events:
        source.events.put_nowait({"type": "MODIFIED", "object": event})
    await eventually(lambda: source.delivered == len(events) and source.events.empty(), 5)
    await asyncio.sleep(0)
    return informer, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_opaque_resource_versions_are_never_compared_as_numbers() -> None:
    informer, task = await run_informer(ScriptedListWatch([secret("opaque-b", "listed")]))
    try:
        assert task.done() is False
        informer.remember(secret("opaque-a", "written"))  # not delivered yet: our write is the newest known
        assert cast(Manifest, informer.get("s"))["data"]["m"] == "written"
        informer.remember(secret("opaque-a", "written"))  # idempotent
        assert cast(Manifest, informer.get("s"))["data"]["m"] == "written"
    finally:
        await stop(task)


async def test_a_write_the_watch_already_delivered_does_not_overwrite_what_came_after() -> None:
    source = ScriptedListWatch([secret("5", "listed")])
    # The watch delivers our write (7) and then someone else's change, whose version is a
    # smaller number (allowed: versions are opaque). Our write's answer is recorded last.
    informer, task = await run_informer(source, secret("7", "ours"), secret("3", "someone else's, later"))
    try:
        assert cast(Manifest, informer.get("s"))["data"]["m"] == "someone else's, later"
        informer.remember(secret("7", "ours"))
        assert cast(Manifest, informer.get("s"))["data"]["m"] == "someone else's, later"
    finally:
        await stop(task)


async def test_the_watch_catching_up_with_our_write_and_going_on() -> None:
    source = ScriptedListWatch([secret("10", "listed")])
    informer, task = await run_informer(source)
    try:
        informer.remember(secret("9", "ours"))  # a smaller number, but newer than what was listed
        assert cast(Manifest, informer.get("s"))["data"]["m"] == "ours"
        for event in (secret("9", "ours"), secret("11", "later")):
            source.events.put_nowait({"type": "MODIFIED", "object": event})
        await eventually(lambda: cast(Manifest, informer.get("s"))["data"]["m"] == "later", 5)
    finally:
        await stop(task)
