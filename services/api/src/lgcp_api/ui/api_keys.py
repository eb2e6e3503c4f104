"""API keys of the tenant (admins): list, create (the key is shown once), revoke."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..auth.roles import Role
from . import forms
from .api_client import ApiError
from .guards import signed_in_form, signed_in_page
from .page import SignedInUi

router = APIRouter(prefix="/api-keys")
ROLES = [role.value for role in Role]


async def _page(
    ui: SignedInUi,
    status_code: int = 200,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    created: dict[str, Any] | None = None,
) -> Response:
    keys = await ui.api.all_pages("/api-keys")
    return ui.render(
        "api_keys.html",
        status_code,
        title="API keys",
        keys=keys,
        roles=ROLES,
        values=values or {"role": "deployer"},
        errors=errors or {},
        created=created,
    )


@router.get("")
async def keys_page(ui: Annotated[SignedInUi, Depends(signed_in_page)]) -> Response:
    return await _page(ui)


@router.post("")
async def create_key(ui: Annotated[SignedInUi, Depends(signed_in_form)]) -> Response:
    values = {"name": ui.form.get("name", "").strip(), "role": ui.form.get("role", "")}
    try:
        created = await ui.api.call("POST", "/api-keys", json=values)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await _page(ui, 422, values=values, errors=forms.field_errors(exc.detail))
    # Rendered, not redirected: the key exists only in this answer (sent with no-store).
    return await _page(ui, 201, created=created)


@router.post("/{key_id}/revoke")
async def revoke_key(ui: Annotated[SignedInUi, Depends(signed_in_form)], key_id: str) -> Response:
    try:
        key_id = str(uuid.UUID(key_id))
    except ValueError:
        raise ApiError(404, "not found") from None
    await ui.api.call("DELETE", f"/api-keys/{key_id}")
    return ui.redirect("/api-keys", flash=f"API key {key_id[:8]} revoked.")
