"""The dependencies every UI page and form starts with: the session, the cross-site checks of a
form post, and for signed-in pages the key checked again and an API client acting as it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import HTTPException, Request

from ..auth.principal import authenticate
from ..auth.roles import Role
from ..observability.json_logs import request_id
from . import csrf
from .api_client import ApiClient
from .page import SignedInUi, Ui
from .session import Session, cookie_fernet_of, load_session


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in session; answered with a redirect."""


class FormRefused(Exception):
    """A POST that failed the cross-site checks; answered with 403."""


def current_ui(request: Request) -> Ui:
    """The request's Ui as its page dependency made it, for the error pages (same session and
    CSRF token); a fresh one when the error came before any."""
    ui: Ui | None = getattr(request.state, "ui", None)
    return ui if ui is not None else Ui(request, load_session(request, cookie_fernet_of(request.app)))


def _attach(ui: Ui) -> Ui:
    # Exception handlers render with the same session (and CSRF token) as the page.
    ui.request.state.ui = ui
    return ui


def _new_ui(request: Request) -> Ui:
    return _attach(Ui(request, load_session(request, cookie_fernet_of(request.app))))


async def anonymous_page(request: Request) -> Ui:
    """A page anyone may see (sign-in)."""
    return _new_ui(request)


async def anonymous_form(request: Request) -> Ui:
    """A form anyone may post (sign-in), after the cross-site checks."""
    ui = _new_ui(request)
    ui.form = await _checked_form(request, ui.session)
    return ui


async def signed_in_page(request: Request) -> AsyncIterator[SignedInUi]:
    """A page for a signed-in caller, with an API client acting as it."""
    async with _signed_in(_new_ui(request)) as ui:
        yield ui


async def signed_in_form(request: Request) -> AsyncIterator[SignedInUi]:
    """A form post of a signed-in caller. The cross-site checks come first, so a forged post
    is refused (403) whether or not the browser sent the cookie along."""
    anonymous = _new_ui(request)
    anonymous.form = await _checked_form(request, anonymous.session)
    async with _signed_in(anonymous) as ui:
        yield ui


@contextlib.asynccontextmanager
async def _signed_in(anonymous: Ui) -> AsyncIterator[SignedInUi]:
    # The key is checked on every request: a revoked key ends the session at once.
    request, session = anonymous.request, anonymous.session
    if session.api_key is None:
        raise SignInRequired
    try:
        principal = await authenticate(request, session.api_key, session.tenant_id)
    except HTTPException:
        session.sign_out()
        session.set_flash("Your session ended: the API key is no longer valid. Sign in again.")
        raise SignInRequired from None
    if principal.role == Role.listener:
        session.sign_out()
        raise SignInRequired
    api = ApiClient(request.app, anonymous.settings.api_prefix, session.api_key, session.tenant_id, request_id.get())
    ui = SignedInUi(request, session, anonymous.form, principal=principal, api=api)
    _attach(ui)
    try:
        yield ui
    finally:
        await api.aclose()


async def _checked_form(request: Request, session: Session) -> dict[str, str]:
    headers = request.headers
    if not csrf.same_origin(headers.get("origin"), headers.get("sec-fetch-site"), headers.get("host")):
        raise FormRefused
    form = await request.form()
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    if not csrf.token_matches(session.csrf, values.get("csrf_token")):
        raise FormRefused
    return values
