"""The listeners page: the data planes of this tenant, the namespaces each may deploy to, where
each keeps its agents' databases (a move keeps them only between equal stores) and when each
last called the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from lgcp_contract.data_stores import DEDICATED

from .guards import signed_in_page
from .page import SignedInUi

router = APIRouter()


def data_store_text(store: str | None) -> str:
    """A listener's data store as pages show it: its kind and the start of its id."""
    if store is None:
        return "not reported"
    if store == DEDICATED:
        return "dedicated (each agent's own Postgres)"
    kind, _, identity = store.partition(":")
    return f"{kind} {identity[:12]}…"


@router.get("/listeners")
async def listeners_page(ui: Annotated[SignedInUi, Depends(signed_in_page)]) -> Response:
    listeners = await ui.api.all_pages("/listeners")
    for listener in listeners:
        listener["data_store_text"] = data_store_text(listener.get("data_store"))
    return ui.render("listeners.html", title="Listeners", listeners=listeners)
