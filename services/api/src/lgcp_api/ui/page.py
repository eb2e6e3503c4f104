"""One request's view of a UI page: its session, the signed-in caller and the API client acting
as it, and rendering with the headers every page carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..auth.principal import Principal
from ..auth.roles import ADMIN, DEPLOY
from ..core.settings import Settings
from .api_client import ApiClient
from .session import Session, cookie_fernet_of, save_session

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
R = TypeVar("R", bound=Response)


@dataclass
class Ui:
    """One request's view of the UI (anonymous pages get this; signed-in ones `SignedInUi`)."""

    request: Request
    session: Session
    form: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings

    @property
    def prefix(self) -> str:
        return self.settings.ui_prefix

    @property
    def can_deploy(self) -> bool:
        return self.principal is not None and self.principal.role in DEPLOY

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.role in ADMIN

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """The page `template` inside the layout, with the session cookie when it changed."""
        html = TEMPLATES.get_template(template).render(
            ui=self.prefix,
            csrf_token=self.session.csrf,
            flash=self.session.pop_flash(),
            principal=self.principal,
            can_deploy=self.can_deploy,
            is_admin=self.is_admin,
            version=__version__,
            **context,
        )
        return self.finish(HTMLResponse(html, status_code=status_code))

    def redirect(self, path: str, flash: str | None = None) -> RedirectResponse:
        """303 to a UI path (after a POST, so a reload does not post again)."""
        if flash:
            self.session.set_flash(flash)
        return self.finish(RedirectResponse(f"{self.prefix}{path}", status_code=303))

    def finish(self, response: R) -> R:
        """Adds the page headers and the session cookie (when it changed) to `response`."""
        response.headers.update(_PAGE_HEADERS)
        save_session(
            response,
            self.session,
            cookie_fernet_of(self.request.app),
            path=self.prefix,
            secure=self.settings.ui_cookie_secure,
        )
        return response


@dataclass(kw_only=True)
class SignedInUi(Ui):
    """A page of a signed-in caller: who it is, and the v2 API client acting as it."""

    principal: Principal
    api: ApiClient
