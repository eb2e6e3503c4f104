"""Moving a deployment to another listener (admins): the form lists the tenant's other listeners
with their namespaces, data store and contact, and posts POST /v2/deployments/{id}/move with
If-Match on the state it was opened on and the Idempotency-Key rendered into it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from lgcp_contract.data_stores import shares_data

from . import forms, listener_contact
from .api_client import ApiError
from .deployments import FormUi, PageUi, path_id
from .forms import new_idempotency_key
from .listeners import data_store_text
from .page import SignedInUi

router = APIRouter(prefix="/deployments")
FIELDS = {"listener_id", "k8s_namespace", "allow_new_databases"}
STALE_MESSAGE = (
    "The deployment changed since this page was opened. The page now shows its current state "
    "with your choices kept: check them and move it again."
)


def candidates(
    listeners: list[dict[str, Any]], current: dict[str, Any] | None, now: dt.datetime
) -> list[dict[str, Any]]:
    """The listeners the deployment may move to (all but its own), each with its namespaces,
    its data store, whether the agent would keep its databases there, and its contact."""
    current_store = current.get("data_store") if current else None
    return [
        {
            **listener_contact.contact(listener, now),
            "namespaces": listener["compute_config"]["k8s_namespaces"],
            "store": data_store_text(listener.get("data_store")),
            "keeps_databases": shares_data(current_store, listener.get("data_store")),
        }
        for listener in listeners
        if current is None or listener["id"] != current["id"]
    ]


def move_values(form: Mapping[str, str]) -> dict[str, Any]:
    """What the user chose in the move form, for the API body and for re-display."""
    return {
        "listener_id": form.get("listener_id", "").strip(),
        "k8s_namespace": form.get("k8s_namespace", "").strip(),
        "allow_new_databases": form.get("allow_new_databases") == "on",
    }


def move_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The POST .../move body: the namespace only when one was typed (else the API's default)."""
    body: dict[str, Any] = {"listener_id": values["listener_id"], "allow_new_databases": values["allow_new_databases"]}
    if values["k8s_namespace"]:
        body["k8s_namespace"] = values["k8s_namespace"]
    return body


async def _form(
    ui: SignedInUi,
    deployment_id: str,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    key: str,
    status_code: int = 200,
    etag: str | None = None,
) -> Response:
    """The form over the deployment as it is now; `etag` None: the current one (after a 412)."""
    deployment, current_etag = await ui.api.get_with_etag(f"/deployments/{deployment_id}")
    listeners = await ui.api.all_pages("/listeners")
    now = dt.datetime.now(dt.UTC)
    by_id = {listener["id"]: listener for listener in listeners}
    current = by_id.get(deployment["source_config"]["listener_id"])
    return ui.render(
        "deployment_move.html",
        status_code,
        title=f"Move {deployment['name']}",
        d=deployment,
        etag=etag or current_etag or "",
        listener=listener_contact.contact(current, now) if current else None,
        current_store=data_store_text(current.get("data_store") if current else None),
        candidates=candidates(listeners, current, now),
        values=values,
        errors=errors,
        idempotency_key=key,
        general_errors=forms.unplaced(errors, FIELDS),
    )


@router.get("/{deployment_id}/move")
async def move_page(ui: PageUi, deployment_id: str) -> Response:
    return await _form(ui, path_id(deployment_id), move_values({}), {}, new_idempotency_key())


@router.post("/{deployment_id}/move")
async def move(ui: FormUi, deployment_id: str) -> Response:
    deployment_id = path_id(deployment_id)
    values = move_values(ui.form)
    etag = ui.form.get("etag") or None
    key = ui.form.get("idempotency_key") or new_idempotency_key()
    if not values["listener_id"]:
        return await _form(
            ui, deployment_id, values, {"listener_id": ["Choose the listener to move it to."]}, key, 422, etag
        )
    headers = {"Idempotency-Key": key} | ({"If-Match": etag} if etag else {})
    try:
        moved = await ui.api.call("POST", f"/deployments/{deployment_id}/move", json=move_body(values), headers=headers)
    except ApiError as exc:
        if exc.status == 412:
            # Someone changed (or moved) it meanwhile: show its current state (and ETag), keep
            # the choices. The key is kept, as after any refusal: a refused move stored nothing.
            return await _form(ui, deployment_id, values, {forms.FORM_LEVEL: [STALE_MESSAGE]}, key, 412)
        if exc.status == 409:
            # The API's 409 about databases names the flag that lifts it: shown at its checkbox.
            # Another 409 (the deployment is being deleted) is shown above the form.
            field = "allow_new_databases" if "allow_new_databases" in str(exc.detail) else forms.FORM_LEVEL
            return await _form(ui, deployment_id, values, {field: [str(exc.detail)]}, key, 409, etag)
        if exc.status not in (400, 422):
            raise
        return await _form(ui, deployment_id, values, forms.field_errors(exc.detail), key, exc.status, etag)
    name = moved["deployment"]["name"]
    if moved["databases"] == "kept":
        flash = f"Deployment {name} moved: databases kept. The new listener rolls it out as a new revision."
    else:
        flash = f"Deployment {name} moved on new databases. Warning: {moved['warning']}."
    return ui.redirect(f"/deployments/{deployment_id}", flash=flash)
