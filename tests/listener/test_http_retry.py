"""Idempotent reads of the tests' and benchmarks' API clients survive a kept-alive connection
the server has just closed (issue 14 defect 11: bench/reconcile.py --n 100 died with ReadError)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from processes_support import ApiProcess

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class ClosingServer:
    """Answers the first request on a connection and closes it when the next one arrives
    (what a server does whose keep-alive timeout ran out just as the client reused it)."""

    def __init__(self) -> None:
        self.requests = 0
        self.posts = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = False
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                self.posts += head.startswith(b"POST")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                if answered:
                    break  # close without an answer
                writer.write(RESPONSE)
                await writer.drain()
                answered = True
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def closing_server() -> AsyncIterator[tuple[ClosingServer, str]]:
    server = ClosingServer()
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    yield server, f"http://127.0.0.1:{port}/api-host"
    listening.close()
    await listening.wait_closed()


async def test_idempotent_reads_retry_on_a_closed_keep_alive_connection(
    closing_server: tuple[ClosingServer, str],
) -> None:
    server, url = closing_server
    api = ApiProcess(url, "admin-key", proc=None, log=Path("/dev/null"))  # type: ignore[arg-type]
    async with api.admin() as client:
        for _ in range(3):
            response = await client.get("/deployments")
            assert response.status_code == 200
    assert server.requests == 5  # three answered, two cut and retried on a new connection


async def test_writes_are_not_retried(closing_server: tuple[ClosingServer, str]) -> None:
    server, url = closing_server
    api = ApiProcess(url, "admin-key", proc=None, log=Path("/dev/null"))  # type: ignore[arg-type]
    async with api.admin() as client:
        assert (await client.get("/deployments")).status_code == 200
        with pytest.raises(httpx.TransportError):
            await client.post("/deployments", json={})
    assert server.posts == 1, "a POST without an Idempotency-Key may have taken effect: never resent"
