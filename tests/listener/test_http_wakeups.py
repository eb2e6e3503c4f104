"""The listener woken over HTTP (`LGCP_LISTENER_WAKEUP_SOURCE=http`: the API's long poll), as a
data plane in another cluster is: no control-plane Redis, the real API process, the local
cluster. The periodic resync is an hour away in each test, so only a wake-up can deliver."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import pytest
from harness import processes
from listener_support import eventually
from processes_support import Stack

pytestmark = pytest.mark.cluster


class CuttableForward:
    """A TCP forward to the API that can be cut (listening socket and every open connection)
    and put back on the same port: the listener's connection to the control plane lost."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = processes.free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


def http_woken(stack: Stack, api_url: str | None = None) -> dict[str, str]:
    """The data plane's settings: wake-ups over HTTP, no control-plane Redis at all."""
    stack.env.pop("LGCP_LISTENER_REDIS_URL")
    return {
        "LGCP_LISTENER_WAKEUP_SOURCE": "http",
        "LGCP_LISTENER_RESYNC_SECONDS": "3600",
        **({"LGCP_LISTENER_API_URL": api_url} if api_url else {}),
    }


async def test_a_change_wakes_a_listener_that_has_only_the_api(stack: Stack) -> None:
    listener = stack.start(**http_woken(stack))
    await stack.registered()
    await eventually(listener.ready, 30)
    deployment = await stack.create()
    await stack.wait_revision(deployment, "DEPLOYED", within=30)
    assert "notification stream not reachable" not in listener.output()


async def test_a_lost_connection_to_the_api_only_delays_the_wakeups(stack: Stack) -> None:
    api = urlsplit(stack.api.url)
    assert api.hostname and api.port
    forward = CuttableForward(api.hostname, api.port)
    await forward.open()
    try:
        listener = stack.start(**http_woken(stack, f"http://127.0.0.1:{forward.port}{api.path}"))
        await stack.registered()
        await eventually(listener.ready, 30)
        await forward.cut()
        # Written while the listener cannot reach the API: it must arrive once it can again.
        deployment = await stack.create()
        await eventually(lambda: "wake-ups from the API unavailable" in listener.output(), 30)
        await forward.open()
        await stack.wait_revision(deployment, "DEPLOYED", within=60)
        # Woken again after the reconnect, not only by a reread: a change made now arrives too.
        second = await stack.create()
        await stack.wait_revision(second, "DEPLOYED", within=30)
    finally:
        await forward.cut()
