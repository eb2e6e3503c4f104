"""The listeners page: the data planes of this tenant, the namespaces each may deploy to and
when each last called the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from .guards import signed_in_page
from .page import SignedInUi

router = APIRouter()


@router.get("/listeners")
async def listeners_page(ui: Annotated[SignedInUi, Depends(signed_in_page)]) -> Response:
    listeners = await ui.api.all_pages("/listeners")
    return ui.render("listeners.html", title="Listeners", listeners=listeners)
