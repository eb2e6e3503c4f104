"""Typed request dependencies: the objects the app opened (settings, pool, secret box, notifier),
the request's database connection and transaction, work to do after commit, and the precondition
headers. A router declares what it needs, e.g. `conn: Transaction`, and never touches `app.state`.

Every dependency is `async def` on purpose: FastAPI runs plain `def` dependencies in a thread
pool, a costly hop for work that does no blocking I/O (docs/architecture.md).

The connection, the transaction and the after-commit work have `scope="function"`: they end
when the endpoint has returned and its response is built, but before it is sent. So a commit
that fails is a 500, never a 200 for a change that did not happen, and the pool connection goes
back before the client reads the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request

from ..core.database import Conn
from ..core.notifications import Notifier
from ..core.secret_box import SecretBox
from ..core.settings import Settings

IfMatch = Annotated[str | None, Header(description="ETag from a read; the write fails with 412 if it changed")]
IdempotencyKey = Annotated[
    str | None,
    Header(description="retries with the same key and body return the first answer"),
]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def _secret_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


async def _secret_key(request: Request) -> str:
    """LGCP_SECRET_KEY: keys the HMAC of API keys and of idempotent requests."""
    key: str = request.app.state.secret_key
    return key


async def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


AppSettings = Annotated[Settings, Depends(_settings)]
Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Box = Annotated[SecretBox, Depends(_secret_box)]
SecretKey = Annotated[str, Depends(_secret_key)]
ListenerNotifier = Annotated[Notifier, Depends(_notifier)]


async def _connection(pool: Pool) -> AsyncIterator[Conn]:
    async with pool.acquire() as conn:
        yield conn


Connection = Annotated[Conn, Depends(_connection, scope="function")]


class AfterCommit:
    """Work that must wait until the request's transaction has committed: a listener must never
    be woken, nor its contact recorded, for a change that may still roll back. Runs in the order
    added, on a successful request only."""

    def __init__(self) -> None:
        self._jobs: list[Callable[[], Awaitable[object]]] = []

    def add(self, job: Callable[[], Awaitable[object]]) -> None:
        self._jobs.append(job)

    async def run(self) -> None:
        for job in self._jobs:
            await job()


async def _after_commit() -> AsyncIterator[AfterCommit]:
    jobs = AfterCommit()
    # An exception from the endpoint is raised here, so nothing runs after a failed request.
    yield jobs
    await jobs.run()


AfterCommitJobs = Annotated[AfterCommit, Depends(_after_commit, scope="function")]


async def _transaction(conn: Connection, after_commit: AfterCommitJobs) -> AsyncIterator[Conn]:
    """The request's connection inside one transaction: committed when the endpoint returns,
    rolled back when it raises. Depends on the after-commit work so that it ends first (exit
    order is the reverse of entry): commit, then the after-commit work, then the connection goes
    back to the pool."""
    async with conn.transaction():
        yield conn


Transaction = Annotated[Conn, Depends(_transaction, scope="function")]
