"""/ok (liveness), /readyz (Postgres and Redis), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio

import asyncpg
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..core.notifications import Notifier
from ..http.deps import ListenerNotifier, Pool

router = APIRouter(tags=["health"])
_CHECK_TIMEOUT = 2.0


@router.get("/ok", summary="Liveness: the process answers")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@router.get("/readyz", summary="Readiness: Postgres reachable; Redis reported")
async def readyz(pool: Pool, notifier: ListenerNotifier) -> JSONResponse:
    """503 only without Postgres. Redis being down is reported but keeps the pod ready: writes
    still succeed and listeners resync, so taking the API out of service would only hurt."""
    try:
        # Not the request's Connection dependency: waiting for a pool slot is part of the check.
        async with asyncio.timeout(_CHECK_TIMEOUT), pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        postgres = "ok"
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        postgres = "unavailable"
    redis = await _redis_state(notifier)
    code = 200 if postgres == "ok" else 503
    return JSONResponse({"postgres": postgres, "redis": redis}, status_code=code)


async def _redis_state(notifier: Notifier) -> str:
    if not notifier.configured:
        return "not configured"
    return "ok" if await notifier.ping() else "unavailable"


@router.get("/metrics", summary="Prometheus metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
