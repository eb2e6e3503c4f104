"""The FastAPI application: routers under `<base path>/api-host/v2`, health at the root."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError

from . import __version__, bootstrap, health
from .auth.cache import TtlCache
from .database import open_pool
from .housekeeping import purge_idempotency_keys_forever
from .http.errors import request_validation_error
from .deployments.router import router as deployments_router
from .listener_api.router import router as listener_api_router
from .listeners.contact import ContactRecorder
from .listeners.router import router as listeners_router
from .manifests.router import router as manifests_router
from .notifications import Notifier
from .observability.middleware import RequestContextMiddleware
from .revisions.router import router as revisions_router
from .secret_box import SecretBox
from .settings import Settings
from .tenants.router import router as tenants_router
from .ui import mount_ui

log = logging.getLogger(__name__)
# Larger bodies get 413 before any parsing. A Kubernetes Secret holds at most 1 MiB, so no
# deployment with more secret data than this could run anyway.
MAX_BODY_BYTES = 1024 * 1024


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    """Opens the pool and Redis client, bootstraps the admin and listener keys, and closes both
    at the end."""
    settings: Settings = app.state.settings
    state = app.state
    state.pool = await open_pool(
        settings.database_url, settings.db_pool_min_size, settings.db_pool_max_size
    )
    state.notifier = Notifier(settings.redis_url, settings.redis_timeout_seconds)
    try:
        try:
            if settings.admin_api_key is not None:
                await bootstrap.ensure_admin(
                    state.pool, state.secret_key, settings.admin_api_key.get_secret_value()
                )
            if settings.listener_api_key is not None:
                await bootstrap.ensure_listener(
                    state.pool, state.secret_key, settings.listener_api_key.get_secret_value()
                )
        except asyncpg.UndefinedTableError:
            raise RuntimeError("the database has no schema: run `lgcp-api migrate` first") from None
        housekeeping_task = asyncio.create_task(purge_idempotency_keys_forever(state.pool))
        log.info("API ready", extra={"api_prefix": settings.api_prefix})
        try:
            yield
        finally:
            housekeeping_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping_task
    finally:
        await state.notifier.close()
        await state.pool.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app from settings (default: the environment)."""
    settings = (settings or Settings()).with_local_defaults()
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
    app.state.principal_cache = TtlCache(settings.auth_cache_seconds)
    app.state.listener_contact = ContactRecorder()
    v2 = APIRouter(prefix=f"{prefix}/v2", max_body_size=MAX_BODY_BYTES)
    for router in (deployments_router, revisions_router, manifests_router, listeners_router,
                   listener_api_router, tenants_router):
        v2.include_router(router)
    app.include_router(v2)
    app.include_router(health.router)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    mount_ui(app)  # the web UI, under settings.ui_prefix (lgcp_api.ui)
    app.add_middleware(RequestContextMiddleware)
    return app
