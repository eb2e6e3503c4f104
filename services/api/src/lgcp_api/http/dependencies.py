"""Request-scoped dependencies: the shared app state and the precondition headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request

IfMatch = Annotated[
    str | None, Header(description="ETag from a read; the write fails with 412 if it changed")
]
IdempotencyKey = Annotated[
    str | None,
    Header(description="retries with the same key and body return the first answer"),
]


async def app_state(request: Request):
    """The objects opened in the lifespan: pool, secret box, notifier, settings.

    Async on purpose: FastAPI runs plain `def` dependencies in a thread pool, a costly hop
    for a dependency that does no I/O."""
    return request.app.state
