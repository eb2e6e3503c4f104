"""Deployment pages: list, create, detail with live status, revision logs, new revision
(update), redeploy (rollback) and delete."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from ..deployments.schemas import NO_EFFECT_FIELDS
from . import forms, listener_contact, metrics_charts
from .agent_url import agent_url
from .api_client import ApiError
from .forms import new_idempotency_key
from .guards import signed_in_form, signed_in_page
from .page import SignedInUi

router = APIRouter(prefix="/deployments")
PageUi = Annotated[SignedInUi, Depends(signed_in_page)]
FormUi = Annotated[SignedInUi, Depends(signed_in_form)]
PAGE_SIZE = 20
LOG_PAGE_SIZE = 100
REVISIONS_SHOWN = 50
# Blank rows offered below the filled ones, so a form works without JavaScript too.
SPARE_ROWS = 2
CREATE_DEFAULTS = {"min_scale": "1", "max_scale": "1", "cpu": "1", "memory_mb": "1024"}


def path_id(value: str) -> str:
    """A path id, checked before it goes into an API path (anything else is simply unknown)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "not found") from None


def _offset(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


def _url(ui: SignedInUi, deployment: dict[str, Any]) -> str | None:
    return agent_url(deployment, ui.settings.langsmith_hostname, ui.settings.base_path)


def _fields_of_form(values: dict[str, Any]) -> set[str]:
    """Every field key the deployment forms render, for placing API errors."""
    keys = {
        "name",
        "image_uri",
        "listener_id",
        "k8s_namespace",
        "custom_url",
        "resource_spec",
        "secrets",
        "secret_references",
        *forms.RESOURCE_FIELDS,
    }
    for group, columns in (("secrets", forms.SECRET_COLUMNS), ("secret_references", forms.REFERENCE_COLUMNS)):
        for index in range(len(values.get(group, [])) + SPARE_ROWS):
            keys.update(f"{group}.{index}.{column}" for column in columns)
    return keys


@router.get("")
async def list_page(ui: PageUi, name: str = "", offset: str | None = None) -> Response:
    start = _offset(offset)
    errors: dict[str, list[str]] = {}
    try:
        page = await ui.api.get("/deployments", name_contains=name.strip() or None, limit=PAGE_SIZE, offset=start)
        rows = page["resources"]
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors, rows = {"name": ["Too long: a deployment name has at most 63 characters."]}, []

    latest = await _rollouts_in_flight(ui, rows)
    listeners = await _listeners_of(ui, rows)
    items = [
        {"d": d, "latest": r, "url": _url(ui, d), "listener": listeners.get(d["source_config"]["listener_id"])}
        for d, r in zip(rows, latest, strict=True)
    ]
    return ui.render(
        "deployments.html",
        title="Deployments",
        items=items,
        name=name,
        errors=errors,
        offset=start,
        previous=max(start - PAGE_SIZE, 0) if start else None,
        next=start + PAGE_SIZE if len(rows) == PAGE_SIZE else None,
    )


async def _rollouts_in_flight(ui: SignedInUi, deployments: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Each row's newest revision when it is not the active (deployed) one, else None.

    One API read for the whole page (GET /revisions?revision_ids=...), not one per row: 20
    in-process calls made the page 25 times slower than the API's own list (bench/ui.py).
    A revision deleted since the list was read is simply not found (None)."""

    def in_flight(deployment: dict[str, Any]) -> str | None:
        latest: str | None = deployment["latest_revision_id"]
        return latest if latest is not None and latest != deployment["active_revision_id"] else None

    wanted = [latest for latest in map(in_flight, deployments) if latest is not None]
    found: dict[str, dict[str, Any]] = {}
    if wanted:
        answer = await ui.api.get("/revisions", revision_ids=wanted)
        found = {revision["id"]: revision for revision in answer["resources"]}
    return [found.get(latest) if latest is not None else None for latest in map(in_flight, deployments)]


async def _listeners_of(ui: SignedInUi, deployments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The tenant's listeners with their contact, by id, for the rows' Listener column.

    One API read for the whole page (the tenant's listeners, as the listeners page reads them:
    a tenant has a few), not one per row; none when the page has no rows."""
    if not deployments:
        return {}
    return listener_contact.by_id(await _listeners(ui), dt.datetime.now(dt.UTC))


async def _listeners(ui: SignedInUi) -> list[dict[str, Any]]:
    return await ui.api.all_pages("/listeners")


def _create_form(
    ui: SignedInUi,
    listeners: list[dict[str, Any]],
    values: dict[str, Any],
    errors: dict[str, Any],
    key: str,
    status_code: int = 200,
) -> Response:
    return ui.render(
        "deployment_new.html",
        status_code,
        title="New deployment",
        listeners=listeners,
        values=values,
        errors=errors,
        idempotency_key=key,
        spare_rows=SPARE_ROWS,
        general_errors=forms.unplaced(errors, _fields_of_form(values)),
    )


@router.get("/new")
async def new_page(ui: PageUi) -> Response:
    listeners = await _listeners(ui)
    values = {**CREATE_DEFAULTS, "secrets": [], "secret_references": []}
    if len(listeners) == 1:
        values["listener_id"] = listeners[0]["id"]
    return _create_form(ui, listeners, values, {}, new_idempotency_key())


@router.post("")
async def create(ui: FormUi) -> Response:
    values = forms.deployment_values(ui.form)
    key = ui.form.get("idempotency_key") or new_idempotency_key()
    try:
        created = await ui.api.call(
            "POST", "/deployments", json=forms.create_body(values), headers={"Idempotency-Key": key}
        )
    except ApiError as exc:
        if exc.status in (400, 422):  # a rule refused (400) or a malformed field (422)
            errors = forms.field_errors(exc.detail)
        elif exc.status == 409:
            errors = {"name": [str(exc.detail)]}
        else:
            raise
        return _create_form(ui, await _listeners(ui), values, errors, key, exc.status)
    return ui.redirect(
        f"/deployments/{created['id']}", flash=f"Deployment {created['name']} created; its first revision is queued."
    )


@router.get("/{deployment_id}")
async def detail_page(ui: PageUi, deployment_id: str, window: str = "hour") -> Response:
    deployment_id = path_id(deployment_id)
    deployment = await ui.api.get(f"/deployments/{deployment_id}")
    revisions = (await ui.api.get(f"/deployments/{deployment_id}/revisions", limit=REVISIONS_SHOWN))["resources"]
    try:
        found = await ui.api.get(f"/listeners/{deployment['source_config']['listener_id']}")
        listener: dict[str, Any] | None = listener_contact.contact(found, dt.datetime.now(dt.UTC))
    except ApiError:
        listener = None
    return ui.render(
        "deployment.html",
        title=deployment["name"],
        d=deployment,
        revisions=revisions,
        listener=listener,
        url=_url(ui, deployment),
        idempotency_key=new_idempotency_key(),
        preview=await _manifests_preview(ui, deployment_id),
        no_effect=_no_effect_fields(deployment["source_config"]["resource_spec"]),
        metrics=await _metrics(ui, deployment_id, window),
    )


@router.get("/{deployment_id}/metrics")
async def metrics_section(ui: PageUi, deployment_id: str, window: str = "hour") -> Response:
    """The metrics section alone, redrawn: the detail page's script swaps its charts in."""
    deployment_id = path_id(deployment_id)
    deployment = await ui.api.get(f"/deployments/{deployment_id}")
    return ui.render("deployment_metrics.html", d=deployment, metrics=await _metrics(ui, deployment_id, window))


async def _metrics(ui: SignedInUi, deployment_id: str, window_name: str) -> dict[str, Any]:
    """The charts of the window asked (an unknown one: the last hour); `charts` None when the
    API could not answer, so the rest of the page still shows."""
    window = metrics_charts.WINDOWS.get(window_name, metrics_charts.WINDOWS["hour"])
    until = dt.datetime.now(dt.UTC).replace(microsecond=0)
    since = until - window.span
    path = f"/deployments/{deployment_id}/metrics"
    try:
        answer = await ui.api.get(path, since=since.isoformat(), until=until.isoformat(), step=window.step)
        drawn: list[metrics_charts.Chart] | None = metrics_charts.charts(answer, since, until)
    except ApiError:
        answer, drawn = {}, None
    return {
        "window": window,
        "windows": list(metrics_charts.WINDOWS.values()),
        "charts": drawn,
        "markers": drawn[0].markers if drawn else [],
        "step": answer.get("step", window.step),
        "width": metrics_charts.WIDTH,
        "height": metrics_charts.HEIGHT,
        "api_path": f"{ui.settings.api_prefix}/v2{path}",
    }


def _no_effect_fields(spec: dict[str, Any]) -> list[str]:
    """The LangSmith-only resource_spec fields this deployment sets: stored, shown, not acted on."""
    return [name for name in NO_EFFECT_FIELDS if spec.get(name) not in (None, [])]


def _kubernetes_order(obj: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind and metadata first, as manifests are written (the API stores jsonb,
    which keeps no key order)."""
    head: dict[str, Any] = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    return {**head, **{k: v for k, v in obj.items() if k not in head}}


async def _manifests_preview(ui: SignedInUi, deployment_id: str) -> dict[str, Any] | None:
    """What the listener last applied for the deployment (GET .../manifests), each object as
    indented JSON (what `kubectl apply -f` takes, and no YAML library needed); None before the
    listener's first report (the API's 404 "not rendered yet")."""
    try:
        preview = await ui.api.get(f"/deployments/{deployment_id}/manifests")
    except ApiError as exc:
        if exc.status != 404:
            raise
        return None
    api_prefix = ui.settings.api_prefix
    return {
        "api_path": f"{api_prefix}/v2/deployments/{deployment_id}/manifests",
        "revision_id": preview["revision_id"],
        "rendered_at": preview["rendered_at"],
        "objects": [
            {
                "kind": m.get("kind", "?"),
                "name": (m.get("metadata") or {}).get("name", "?"),
                "text": json.dumps(_kubernetes_order(m), indent=2, ensure_ascii=False),
            }
            for m in preview["manifests"]
        ],
    }


@router.get("/{deployment_id}/status.json")
async def live_status(ui: PageUi, deployment_id: str) -> JSONResponse:
    """What the detail page polls: the deployment's and its recent revisions' status."""
    deployment_id = path_id(deployment_id)
    deployment = await ui.api.get(f"/deployments/{deployment_id}")
    revisions = (await ui.api.get(f"/deployments/{deployment_id}/revisions", limit=REVISIONS_SHOWN))["resources"]
    return JSONResponse(
        {
            "status": deployment["status"],
            "active_revision_id": deployment["active_revision_id"],
            "latest_revision_id": deployment["latest_revision_id"],
            "revisions": [
                {"id": r["id"], "status": r["status"], "status_message": r["status_message"]} for r in revisions
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/{deployment_id}/revisions/{revision_id}")
async def revision_page(ui: PageUi, deployment_id: str, revision_id: str, offset: str | None = None) -> Response:
    deployment_id, revision_id = path_id(deployment_id), path_id(revision_id)
    start = _offset(offset)
    deployment = await ui.api.get(f"/deployments/{deployment_id}")
    base = f"/deployments/{deployment_id}/revisions/{revision_id}"
    revision = await ui.api.get(base)
    logs = (await ui.api.get(f"{base}/logs", limit=LOG_PAGE_SIZE, offset=start))["resources"]
    return ui.render(
        "revision.html",
        title=f"Revision {revision_id[:8]} of {deployment['name']}",
        d=deployment,
        r=revision,
        logs=logs,
        offset=start,
        previous=max(start - LOG_PAGE_SIZE, 0) if start else None,
        next=start + LOG_PAGE_SIZE if len(logs) == LOG_PAGE_SIZE else None,
        idempotency_key=new_idempotency_key(),
    )


@router.post("/{deployment_id}/revisions/{revision_id}/redeploy")
async def redeploy(ui: FormUi, deployment_id: str, revision_id: str) -> Response:
    deployment_id, revision_id = path_id(deployment_id), path_id(revision_id)
    key = ui.form.get("idempotency_key") or new_idempotency_key()
    try:
        revision = await ui.api.call(
            "POST",
            f"/deployments/{deployment_id}/revisions/{revision_id}/redeploy",
            headers={"Idempotency-Key": key},
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        return ui.redirect(f"/deployments/{deployment_id}", flash=f"Not redeployed: {exc.detail}")
    return ui.redirect(
        f"/deployments/{deployment_id}",
        flash=f"Redeploying revision {revision_id[:8]} as new revision {revision['id'][:8]}.",
    )


def _edit_form(
    ui: SignedInUi,
    deployment: dict[str, Any],
    etag: str | None,
    values: dict[str, Any],
    baseline: dict[str, Any],
    errors: dict[str, Any],
    status_code: int = 200,
) -> Response:
    return ui.render(
        "deployment_edit.html",
        status_code,
        title=f"Update {deployment['name']}",
        d=deployment,
        etag=etag or "",
        values=values,
        baseline=json.dumps(baseline),
        errors=errors,
        spare_rows=SPARE_ROWS,
        general_errors=forms.unplaced(errors, _fields_of_form(values)),
    )


@router.get("/{deployment_id}/edit")
async def edit_page(ui: PageUi, deployment_id: str) -> Response:
    deployment, etag = await ui.api.get_with_etag(f"/deployments/{path_id(deployment_id)}")
    values = forms.values_of_deployment(deployment)
    return _edit_form(ui, deployment, etag, values, values, {})


def _baseline(form: dict[str, Any], deployment: dict[str, Any]) -> dict[str, Any]:
    # The state the form was opened on; without it, the current state.
    try:
        baseline: Any = json.loads(form.get("baseline") or "")
    except ValueError:
        baseline = None
    return baseline if isinstance(baseline, dict) else forms.values_of_deployment(deployment)


@router.post("/{deployment_id}/edit")
async def update(ui: FormUi, deployment_id: str) -> Response:
    deployment_id = path_id(deployment_id)
    values = forms.deployment_values(ui.form)
    deployment, current_etag = await ui.api.get_with_etag(f"/deployments/{deployment_id}")
    etag = ui.form.get("etag") or current_etag
    baseline = _baseline(ui.form, deployment)
    body = forms.update_body(values, baseline)
    if not body:
        errors = {forms.FORM_LEVEL: ["Nothing changed: change the image, resources, secrets or secret references."]}
        return _edit_form(ui, deployment, etag, values, baseline, errors, 422)
    try:
        await ui.api.call(
            "PATCH", f"/deployments/{deployment_id}", json=body, headers={"If-Match": etag} if etag else None
        )
    except ApiError as exc:
        if exc.status == 412:
            # Someone else changed it meanwhile: show the new state with this user's changes
            # on top, and let them confirm.
            current = forms.values_of_deployment(deployment)
            errors = {
                forms.FORM_LEVEL: [
                    "The deployment changed since this page was opened. The form now shows its "
                    "current state with your changes on top: check it and submit again."
                ]
            }
            return _edit_form(
                ui, deployment, current_etag, forms.rebase(values, baseline, current), current, errors, 412
            )
        if exc.status == 409:
            return _edit_form(ui, deployment, etag, values, baseline, {forms.FORM_LEVEL: [str(exc.detail)]}, 409)
        if exc.status not in (400, 422):
            raise
        return _edit_form(ui, deployment, etag, values, baseline, forms.field_errors(exc.detail), exc.status)
    return ui.redirect(f"/deployments/{deployment_id}", flash="New revision created.")


@router.get("/{deployment_id}/delete")
async def delete_page(ui: PageUi, deployment_id: str) -> Response:
    deployment = await ui.api.get(f"/deployments/{path_id(deployment_id)}")
    return ui.render("deployment_delete.html", title=f"Delete {deployment['name']}", d=deployment, values={}, errors={})


@router.post("/{deployment_id}/delete")
async def delete(ui: FormUi, deployment_id: str) -> Response:
    deployment_id = path_id(deployment_id)
    deployment = await ui.api.get(f"/deployments/{deployment_id}")
    typed = ui.form.get("confirm_name", "").strip()
    if typed != deployment["name"]:
        errors = {"confirm_name": [f"Type {deployment['name']} exactly to confirm."]}
        return ui.render(
            "deployment_delete.html",
            422,
            title=f"Delete {deployment['name']}",
            d=deployment,
            values={"confirm_name": typed},
            errors=errors,
        )
    await ui.api.call("DELETE", f"/deployments/{deployment_id}")
    return ui.redirect(
        "/deployments", flash=(f"Deployment {deployment['name']} is being deleted: the listener removes its objects.")
    )
