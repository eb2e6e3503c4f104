"""A deployment's runtime logs page: what its listener shipped (container lines, Kubernetes
events, the listener's own steps), newest first, filtered by level, text and revision with a
plain GET form, and paged. Read through the API (POST /v2/deployments/{id}/logs), like every page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..logs.schemas import Level
from .api_client import ApiError
from .guards import signed_in_page
from .page import SignedInUi

router = APIRouter(prefix="/deployments")
PageUi = Annotated[SignedInUi, Depends(signed_in_page)]
PAGE_SIZE = 100
REVISIONS_OFFERED = 50
# The API's own bounds on a logs query (lgcp_api.logs.schemas.LogsQuery).
MAX_QUERY_CHARS = 256
MAX_OFFSET = 1_000_000
LEVELS = [level.value for level in Level]


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _offset(value: str | None) -> int:
    try:
        return min(max(int(value or 0), 0), MAX_OFFSET)
    except ValueError:
        return 0


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    """One API entry as the table shows it: its time (milliseconds since the epoch) in UTC."""
    at = dt.datetime.fromtimestamp(log["timestamp"] / 1000, dt.UTC)
    return {
        **log,
        "iso": at.isoformat(timespec="milliseconds"),
        "shown": at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}",
        "severe": log["level"] in ("ERROR", "CRITICAL"),
    }


@router.get("/{deployment_id}/logs")
async def logs_page(
    ui: PageUi,
    deployment_id: str,
    level: str = "",
    q: str = "",
    revision: str = "",
    offset: str | None = None,
) -> Response:
    """The runtime logs of a deployment (or of one of its revisions), newest first."""
    checked = _uuid(deployment_id)
    if checked is None:
        raise ApiError(404, "not found")
    deployment = await ui.api.get(f"/deployments/{checked}")
    revisions = (await ui.api.get(f"/deployments/{checked}/revisions", limit=REVISIONS_OFFERED))["resources"]

    start = _offset(offset)
    level = level if level in LEVELS else ""
    revision_id = _uuid(revision) if revision else None
    text = q.replace("\x00", "").strip()
    errors: dict[str, list[str]] = {}
    if len(text) > MAX_QUERY_CHARS:
        errors["q"] = [f"Too long: search for at most {MAX_QUERY_CHARS} characters."]

    filters = {"level": level, "q": text, "revision": revision_id or ""}
    path = f"/deployments/{checked}/revisions/{revision_id}/logs" if revision_id else f"/deployments/{checked}/logs"
    answer: dict[str, Any] = {"logs": [], "next_offset": None}
    if not errors:
        query = {"limit": PAGE_SIZE, "offset": start, "order": "desc", "level": level or None, "query": text or None}
        try:
            answer = await ui.api.call("POST", path, json=query)
        except ApiError as exc:
            if exc.status == 400 and revision_id:  # a revision of another deployment: not here
                raise ApiError(404, "not found") from None
            raise

    def page_url(at: int) -> str:
        params = {k: v for k, v in filters.items() if v}
        if at:
            params["offset"] = str(at)
        return f"{ui.prefix}/deployments/{checked}/logs" + (f"?{urlencode(params)}" if params else "")

    shown = next((r for r in revisions if r["id"] == revision_id), None)
    title = f"Logs of {deployment['name']}" + (f", revision {revision_id[:8]}" if revision_id else "")
    return ui.render(
        "deployment_logs.html",
        title=title,
        d=deployment,
        revisions=revisions,
        revision_id=revision_id,
        revision_listed=shown is not None,
        levels=LEVELS,
        filters=filters,
        filtered=any(filters.values()),
        errors=errors,
        entries=[_entry(log) for log in answer["logs"]],
        offset=start,
        newer=page_url(max(start - PAGE_SIZE, 0)) if start else None,
        older=page_url(answer["next_offset"]) if answer["next_offset"] is not None else None,
        # Only the first page follows new entries in place (a later page would shift under the reader).
        refresh_url=page_url(0) if start == 0 else None,
        clear_url=f"{ui.prefix}/deployments/{checked}/logs",
        api_path=f"POST {ui.settings.api_prefix}/v2{path}",
    )
