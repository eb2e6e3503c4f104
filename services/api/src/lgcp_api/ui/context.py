"""Per-request state of a UI page: the session, the signed-in caller, the API client, and
rendering with the headers every page carries."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..auth.principal import Principal, authenticate
from ..auth.roles import ADMIN, DEPLOY, Role
from ..observability.json_logs import request_id
from . import csrf
from .api_client import ApiClient
from .session import Session, cookie_fernet, load_session, save_session

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
# Pages are self-contained: no inline script or style, nothing from another origin, no framing.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show tenant data and, once, new API keys: never keep them in a cache.
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in session; answered with a redirect."""


class FormRefused(Exception):
    """A POST that failed the cross-site checks; answered with 403."""


@dataclass
class Ui:
    """One request's view of the UI."""

    request: Request
    session: Session
    principal: Principal | None = None
    api: ApiClient | None = None
    form: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.request.app.state.settings.ui_prefix

    @property
    def can_deploy(self) -> bool:
        return self.principal is not None and self.principal.role in DEPLOY

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.role in ADMIN

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """The page `template` inside the layout, with the session cookie when it changed."""
        html = TEMPLATES.get_template(template).render(
            ui=self.prefix, csrf_token=self.session.csrf, flash=self.session.pop_flash(),
            principal=self.principal, can_deploy=self.can_deploy, is_admin=self.is_admin,
            version=__version__, **context,
        )
        return self.finish(HTMLResponse(html, status_code=status_code))

    def redirect(self, path: str, flash: str | None = None) -> RedirectResponse:
        """303 to a UI path (after a POST, so a reload does not post again)."""
        if flash:
            self.session.set_flash(flash)
        return self.finish(RedirectResponse(f"{self.prefix}{path}", status_code=303))

    def finish(self, response):
        """Adds the page headers and the session cookie (when it changed) to `response`."""
        settings = self.request.app.state.settings
        response.headers.update(_PAGE_HEADERS)
        save_session(response, self.session, self.request.app.state.ui_cookie_fernet,
                     path=self.prefix, secure=settings.ui_cookie_secure)
        return response


def _attach(request: Request) -> Ui:
    ui = Ui(request, load_session(request, request.app.state.ui_cookie_fernet))
    # Exception handlers render with the same session (and CSRF token) as the page.
    request.state.ui = ui
    return ui


async def anonymous_page(request: Request) -> Ui:
    """A page anyone may see (sign-in)."""
    return _attach(request)


async def anonymous_form(request: Request) -> Ui:
    """A form anyone may post (sign-in), after the cross-site checks."""
    ui = _attach(request)
    ui.form = await _checked_form(request, ui.session)
    return ui


async def signed_in_page(request: Request):
    """A page for a signed-in caller, with an API client acting as it."""
    ui = _attach(request)
    async with _signed_in(ui):
        yield ui


async def signed_in_form(request: Request):
    """A form post of a signed-in caller. The cross-site checks come first, so a forged post
    is refused (403) whether or not the browser sent the cookie along."""
    ui = _attach(request)
    ui.form = await _checked_form(request, ui.session)
    async with _signed_in(ui):
        yield ui


@contextlib.asynccontextmanager
async def _signed_in(ui: Ui):
    # The key is checked on every request: a revoked key ends the session at once.
    request = ui.request
    if not ui.session.signed_in:
        raise SignInRequired
    try:
        ui.principal = await authenticate(request, ui.session.api_key, ui.session.tenant_id)
    except HTTPException:
        ui.session.sign_out()
        ui.session.set_flash("Your session ended: the API key is no longer valid. Sign in again.")
        raise SignInRequired from None
    if ui.principal.role == Role.listener:
        ui.session.sign_out()
        raise SignInRequired
    settings = request.app.state.settings
    ui.api = ApiClient(request.app, settings.api_prefix, ui.session.api_key, ui.session.tenant_id,
                       request_id.get())
    try:
        yield
    finally:
        await ui.api.aclose()


async def _checked_form(request: Request, session: Session) -> dict[str, str]:
    headers = request.headers
    if not csrf.same_origin(headers.get("origin"), headers.get("sec-fetch-site"), headers.get("host")):
        raise FormRefused
    form = await request.form()
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    if not csrf.token_matches(session.csrf, values.get("csrf_token")):
        raise FormRefused
    return values


def sign_in_location(ui_prefix: str, request: Request) -> str:
    """The sign-in page, returning to the page asked for (GET only; forms cannot be resumed)."""
    target = ui_prefix + "/sign-in"
    if request.method == "GET":
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(path, safe="")
    return target


def safe_next(ui_prefix: str, value: str | None) -> str:
    """A `next` parameter only ever leads back into the UI (no open redirect)."""
    if value and value.startswith(ui_prefix + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return ui_prefix + "/deployments"


def new_idempotency_key() -> str:
    """A key rendered into a form, so a double submit creates one object, not two."""
    return uuid.uuid4().hex


def ensure_cookie_key(app) -> None:
    """Derives the session cookie's key once per app."""
    app.state.ui_cookie_fernet = cookie_fernet(app.state.secret_key)
