"""The FastAPI application: routers under `<base path>/api-host/v2`, health at the root, the web
UI under `<base path><ui path>`; the lifespan opens and closes what requests share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError

from . import __version__
from .auth.principal import Principal
from .core.database import open_pool
from .core.notifications import Notifier
from .core.secret_box import SecretBox
from .core.settings import Settings
from .deployments.router import router as deployments_router
from .health.router import router as health_router
from .http.errors import DATABASE_UNAVAILABLE, database_unavailable, request_validation_error
from .http.openapi_links import add_links
from .idempotency.housekeeping import purge_idempotency_keys_forever
from .kit.ttl_cache import TtlCache
from .listener_api.change_feed import ChangeFeed
from .listener_api.changes_router import router as listener_changes_router
from .listener_api.router import router as listener_api_router
from .listeners.contact import ContactRecorder
from .listeners.router import router as listeners_router
from .logs import router as logs
from .manifests.router import router as manifests_router
from .metrics import router as metrics
from .observability.middleware import RequestContextMiddleware
from .revisions.router import batch_router as revisions_batch_router
from .revisions.router import router as revisions_router
from .tenants import bootstrap
from .tenants.router import router as tenants_router
from .ui import mount_ui

log = logging.getLogger(__name__)
# Larger bodies get 413 before any parsing. A Kubernetes Secret holds at most 1 MiB, so no
# deployment with more secret data than this could run anyway.
MAX_BODY_BYTES = 1024 * 1024
_V2_ROUTERS = (
    deployments_router,
    revisions_router,
    revisions_batch_router,
    manifests_router,
    listeners_router,
    listener_api_router,
    listener_changes_router,
    tenants_router,
    logs.v2_router,
    logs.listener_router,
    metrics.router,
    metrics.listener_router,
)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Opens the pool and Redis client (`app.state.pool`, `.notifier`), bootstraps the admin and
    listener keys, purges expired Idempotency-Keys in the background, and closes both at the end."""
    settings: Settings = app.state.settings
    secret_key: str = app.state.secret_key
    state = app.state
    pool = state.pool = await open_pool(settings.database_dsn, settings.db_pool_min_size, settings.db_pool_max_size)
    notifier = state.notifier = Notifier(settings.redis_dsn, settings.redis_timeout_seconds)
    change_feed = state.change_feed = ChangeFeed(settings.redis_dsn, settings.redis_timeout_seconds)
    try:
        try:
            if settings.admin_api_key is not None:
                await bootstrap.ensure_admin(pool, secret_key, settings.admin_api_key.get_secret_value())
            if settings.listener_api_key is not None:
                await bootstrap.ensure_listener(pool, secret_key, settings.listener_api_key.get_secret_value())
        except asyncpg.UndefinedTableError:
            raise RuntimeError("the database has no schema: run `lgcp-api migrate` first") from None
        housekeeping_task = asyncio.create_task(purge_idempotency_keys_forever(pool))
        log.info("API ready", extra={"api_prefix": settings.api_prefix})
        try:
            yield
        finally:
            housekeeping_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping_task
    finally:
        await notifier.close()
        await change_feed.close()
        await pool.close()


def _with_openapi_links(app: FastAPI, v2_prefix: str) -> None:
    """The OpenAPI document with its links (http/openapi_links.py), built once like FastAPI's."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(plain(), v2_prefix)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app from settings (default: the environment). What requests share lives in
    `app.state` (settings, secret_key, secret_box, principal_cache, listener_contact; pool and
    notifier from the lifespan) and reaches them through the typed dependencies of
    `lgcp_api.http.deps`."""
    settings = (settings or Settings()).with_local_defaults()
    # with_local_defaults fills it in local mode, and the settings refuse its absence otherwise.
    assert settings.secret_key is not None
    prefix = settings.api_prefix
    app = FastAPI(
        title="langgraph-controlplane API",
        version=__version__,
        description="LangSmith-compatible control-plane API (v2) for LangGraph deployments.",
        docs_url=f"{prefix}/docs",
        openapi_url=f"{prefix}/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.secret_key = settings.secret_key.get_secret_value()
    app.state.secret_box = SecretBox(settings.encryption_key_list)
    app.state.principal_cache = TtlCache[Principal](settings.auth_cache_seconds)
    app.state.listener_contact = ContactRecorder()
    v2 = APIRouter(prefix=f"{prefix}/v2", max_body_size=MAX_BODY_BYTES)
    for router in _V2_ROUTERS:
        v2.include_router(router)
    app.include_router(v2)
    # LangSmith's v1 logs paths, as langgraph-cli calls them (`deploy logs`).
    app.include_router(logs.v1_router, prefix=f"{prefix}/v1")
    app.include_router(health_router)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, database_unavailable)
    mount_ui(app)  # the web UI, under settings.ui_prefix (lgcp_api.ui)
    _with_openapi_links(app, f"{prefix}/v2")
    app.add_middleware(RequestContextMiddleware)
    return app
