"""The dashboard links langgraph-cli prints, answered with the UI's pages.

The CLI takes the part of its host URL before `/api-host` as the dashboard and prints
`<dashboard>/o/<tenant_id>/host/deployments/<id>`; here that is `<base_path>/o/...`. The ids are
typed (UUIDs), so a link can only ever lead to a page of this UI; the page itself checks the
signed-in key and its tenant as any other."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import RedirectResponse


def links_router(base_path: str, ui_prefix: str) -> APIRouter:
    router = APIRouter(prefix=f"{base_path}/o/{{tenant_id}}/host/deployments", include_in_schema=False)

    @router.get("")
    async def deployments_page(tenant_id: uuid.UUID) -> RedirectResponse:
        return RedirectResponse(f"{ui_prefix}/deployments", status_code=307)

    @router.get("/{deployment_id}")
    async def deployment_page(tenant_id: uuid.UUID, deployment_id: uuid.UUID) -> RedirectResponse:
        return RedirectResponse(f"{ui_prefix}/deployments/{deployment_id}", status_code=307)

    return router
