"""Where the UI sends a browser: to sign-in and back, never off the site."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request


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
