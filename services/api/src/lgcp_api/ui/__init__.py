"""The web UI: server-rendered pages under `<LGCP_BASE_PATH><LGCP_UI_PATH>` that call the v2 API
in-process as the signed-in API key. Mounted by `mount_ui`; nothing else in the app knows it.

Modules: `guards` (the dependencies a page starts with), `page` (rendering), `session` (the
cookie), `csrf`, `navigation` (redirect targets), `api_client`, `forms` (form <-> API body), and
one module of routes per area (`sign_in`, `deployments`, `deployment_move`, `runtime_logs`,
`listeners`, `api_keys`), and `langsmith_links` (the dashboard links langgraph-cli prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from . import api_keys, deployment_move, deployments, listeners, runtime_logs, sign_in
from .api_client import ApiError
from .guards import FormRefused, SignInRequired, anonymous_page, current_ui
from .langsmith_links import links_router
from .navigation import sign_in_location
from .page import Ui
from .session import ensure_cookie_key

__all__ = ["mount_ui"]
# A form becomes one API body, so it gets the same bound as the API (app.MAX_BODY_BYTES).
MAX_FORM_BYTES = 1024 * 1024


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    ui = current_ui(request)
    return ui.finish(RedirectResponse(sign_in_location(ui.prefix, request), status_code=303))


async def _form_refused(request: Request, exc: Exception) -> Response:
    return current_ui(request).render(
        "error.html",
        403,
        title="Form refused",
        message=(
            "This form was sent from another site, or its page is too old. Nothing was changed. "
            "Go back, reload the page and try again."
        ),
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # registered for ApiError only
    ui = current_ui(request)
    if exc.status == 401:
        # The key stopped working between the page's own check and the API call.
        ui.session.sign_out()
        ui.session.set_flash("Your session ended: the API key is no longer valid. Sign in again.")
        return ui.finish(RedirectResponse(sign_in_location(ui.prefix, request), status_code=303))
    if exc.status in (404, 422):
        # A malformed id is as unknown as a missing one (or another tenant's).
        return ui.render(
            "error.html", 404, title="Not found", message="There is nothing here, or it belongs to another tenant."
        )
    if exc.status == 403:
        return ui.render("error.html", 403, title="Not allowed", message=str(exc.detail))
    return ui.render("error.html", exc.status, title="Something went wrong", message=str(exc.detail))


def mount_ui(app: FastAPI) -> None:
    """Adds the UI's pages, its static files and its error pages to `app`."""
    prefix = app.state.settings.ui_prefix
    ensure_cookie_key(app)
    app.include_router(links_router(app.state.settings.base_path, prefix))
    router = APIRouter(prefix=prefix, include_in_schema=False, max_body_size=MAX_FORM_BYTES)
    for module in (sign_in, deployments, deployment_move, runtime_logs, listeners, api_keys):
        router.include_router(module.router)

    @router.get("")
    @router.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{prefix}/deployments", status_code=303)

    @router.get("/{unknown:path}")
    async def not_found(ui: Annotated[Ui, Depends(anonymous_page)]) -> None:
        raise ApiError(404, "not found")

    # Static files first: the router's catch-all would otherwise answer for them.
    app.mount(f"{prefix}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="ui-static")
    app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(FormRefused, _form_refused)
    app.add_exception_handler(ApiError, _api_error)
