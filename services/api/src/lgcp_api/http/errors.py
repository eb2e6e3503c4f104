"""Errors in FastAPI's own shape, so clients parse ours and the framework's the same way."""

from __future__ import annotations

import logging
import socket

import asyncpg
from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def field_error(loc: tuple[str | int, ...], msg: str, kind: str = "value_error") -> HTTPException:
    """A 422 naming the field, like the ones FastAPI raises for request validation."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": list(loc), "msg": msg, "type": kind}])


def rule_violation(field: tuple[str, ...], msg: str) -> HTTPException:
    """A 400 for a request understood and refused by a rule, its `detail` a string naming the
    field ("source_config.listener_id: ..."): langgraph-cli shows a string detail and only that.
    Malformed bodies keep FastAPI's 422 list (request_validation_error)."""
    return HTTPException(status.HTTP_400_BAD_REQUEST, f"{'.'.join(field)}: {msg}" if field else msg)


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def conflict(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail)


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming where and why, without the input: FastAPI's default answer echoes the input
    (for a body-level check, the whole body), which may hold secret values."""
    assert isinstance(exc, RequestValidationError)  # registered for it only (create_app)
    detail = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


log = logging.getLogger(__name__)

# Seconds a client is told to wait while PostgreSQL is unreachable: about one pool reconnect.
DATABASE_RETRY_AFTER = 2
# What asyncpg raises when the server is down, restarting or was cut off (not a bad query).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError: cut in the middle of a call
    asyncpg.exceptions.OperatorInterventionError,  # AdminShutdown, CannotConnectNow (starting up)
    asyncpg.InterfaceError,  # "connection is closed" (only those: see database_unavailable)
    # "another operation is in progress": a pooled connection whose last call a shutdown cut
    # (only those; tests/faults/test_database_errors.py)
    asyncpg.InternalClientError,
    ConnectionError,  # refused or reset while connecting
    socket.gaierror,  # the server's name does not resolve (its Service is gone)
)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After while PostgreSQL cannot be reached, never a 500: the request had no
    effect (its transaction did not commit) and may be sent again; the pool reconnects by itself."""
    if isinstance(exc, asyncpg.InterfaceError) and "closed" not in str(exc):
        raise exc  # a misuse of a connection is a bug: a 500, not "try again"
    if isinstance(exc, asyncpg.InternalClientError) and "another operation" not in str(exc):
        raise exc  # a client bug, not a cut connection
    log.warning("database unavailable", extra={"error": type(exc).__name__, "path": request.url.path})
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )
