"""Signing in with an API key (and a tenant when the key reaches several), and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from ..auth.principal import authenticate
from ..auth.roles import Role
from .guards import anonymous_form, anonymous_page
from .navigation import safe_next
from .page import Ui

router = APIRouter()


def _problem(status: int, detail: str) -> tuple[str, str]:
    """The field a refused sign-in concerns, and what to tell the user."""
    if status == 401:
        return "api_key", "This API key is not valid, or it was revoked."
    if status == 400:
        return "tenant_id", "This key reaches several tenants: enter the tenant's id."
    if status == 422:
        return "tenant_id", "A tenant id is a UUID, like 6f1c0f5e-3a4b-4c55-9e21-0d5a3f1b2c3d."
    if status == 404:
        return "tenant_id", "There is no tenant with this id."
    if status == 403:
        return "tenant_id", "This key cannot act in that tenant."
    return "api_key", detail


@router.get("/sign-in")
async def sign_in_page(ui: Annotated[Ui, Depends(anonymous_page)], next: str | None = None) -> Response:
    return ui.render("sign_in.html", title="Sign in", values={}, errors={}, next=safe_next(ui.prefix, next))


@router.post("/sign-in")
async def sign_in(ui: Annotated[Ui, Depends(anonymous_form)]) -> Response:
    api_key = ui.form.get("api_key", "").strip()
    tenant_id = ui.form.get("tenant_id", "").strip() or None
    target = safe_next(ui.prefix, ui.form.get("next"))
    errors: dict[str, list[str]] = {}
    if not api_key:
        errors["api_key"] = ["Enter an API key."]
    else:
        try:
            principal = await authenticate(ui.request, api_key, tenant_id)
        except HTTPException as exc:
            field, message = _problem(exc.status_code, str(exc.detail))
            errors[field] = [message]
        else:
            if principal.role == Role.listener:
                errors["api_key"] = [
                    "Listener keys are for the data plane; sign in with an admin, deployer or viewer key."
                ]
            else:
                # The tenant actually resolved is kept, so later calls never depend on a default.
                ui.session.sign_in(api_key, str(principal.tenant_id))
                return ui.redirect(target.removeprefix(ui.prefix))
    # The key is not shown again; the tenant the user typed is.
    return ui.render(
        "sign_in.html",
        401 if "api_key" in errors else 422,
        title="Sign in",
        values={"tenant_id": tenant_id or ""},
        errors=errors,
        next=target,
    )


@router.post("/sign-out")
async def sign_out(ui: Annotated[Ui, Depends(anonymous_form)]) -> Response:
    ui.session.sign_out()
    return ui.redirect("/sign-in", flash="You are signed out.")
