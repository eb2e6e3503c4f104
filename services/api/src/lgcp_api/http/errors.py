"""Errors in FastAPI's own shape, so clients parse ours and the framework's the same way."""

from __future__ import annotations

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
