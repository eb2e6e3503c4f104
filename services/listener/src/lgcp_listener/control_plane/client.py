"""The control plane's listener-facing API (docs/interfaces.md), over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
from lgcp_contract.desired_state import DesiredState

from ..objects import Manifest

Body = dict[str, Any]
Params = list[tuple[str, str | int | float | bool | None]]


class ControlPlaneError(RuntimeError):
    """The API answered with an error; `status` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"control plane answered {status}: {message}")
        self.status = status


class ControlPlane:
    """Client of `/v2/listener-api`, authenticated with a `listener` key (the only role it takes)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        tenant_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"X-Api-Key": api_key}
        if tenant_id:
            headers["X-Tenant-Id"] = tenant_id
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/v2/listener-api", headers=headers, timeout=30, transport=transport
        )

    async def close(self) -> None:
        """Closes the HTTP connections."""
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        """Whether close() has run."""
        return self._http.is_closed

    async def _send(
        self,
        method: str,
        path: str,
        body: Body | None = None,
        params: Params | None = None,
        seconds: float | None = None,
    ) -> Any:
        """One request; `seconds` replaces the client's timeouts (a long poll's outlasts its wait)."""
        resp = await self._http.request(
            method, path, json=body, params=params, timeout=httpx.USE_CLIENT_DEFAULT if seconds is None else seconds
        )
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise ControlPlaneError(resp.status_code, str(detail)[:500])
        return resp.json() if resp.content else None

    async def register(self, compute_id: str, namespaces: list[str], data_store: str | None = None) -> str:
        """Registers (idempotently, by compute_id) and returns this listener's id. `data_store`:
        where agents' databases are (None: not known now; the API keeps what it had)."""
        body = {"compute_id": compute_id, "k8s_namespaces": namespaces, "data_store": data_store}
        listener = await self._send("POST", "/register", body)
        listener_id: str = listener["id"]
        return listener_id

    async def desired_state(self, listener_id: str, deployment_ids: list[str] | None = None) -> DesiredState:
        """Every deployment this listener should run (secrets decrypted), or only those named:
        one absent from the answer no longer exists."""
        params: Params | None = [("deployment_id", item) for item in deployment_ids] if deployment_ids else None
        return DesiredState.model_validate(
            await self._send("GET", f"/listeners/{listener_id}/desired-state", params=params)
        )

    async def changes(self, listener_id: str, after: str | None, wait: float) -> Body:
        """The listener's changes after the cursor `after`, waiting up to `wait` seconds for them
        (the long-poll wake-up: `{"cursor", "changes", "resync"}`); 503 while the API's Redis is
        unreachable."""
        params: Params = [("wait", wait)] + ([("after", after)] if after else [])
        # The read timeout outlasts the API's wait, which ends the poll by itself.
        answer: Body = await self._send("GET", f"/listeners/{listener_id}/changes", params=params, seconds=wait + 15)
        return answer

    async def revision_status(
        self, revision_id: str, status: str, message: str | None, events: list[Body] | None = None
    ) -> None:
        """Moves a revision to `status`; `events` become its logs. 409 when the move is illegal."""
        await self._send(
            "POST", f"/revisions/{revision_id}/status", {"status": status, "message": message, "events": events or []}
        )

    async def deployment_status(self, deployment_id: str, status: str, message: str | None = None) -> None:
        """Sets a deployment's status (AWAITING_DATABASE, READY, ...)."""
        await self._send("POST", f"/deployments/{deployment_id}/status", {"status": status, "message": message})

    async def manifests(self, deployment_id: str, revision_id: str, manifests: list[Manifest]) -> None:
        """Reports the objects about to be applied for a revision (Secret values already redacted)."""
        await self._send(
            "PUT", f"/deployments/{deployment_id}/manifests", {"revision_id": revision_id, "manifests": manifests}
        )

    async def logs(self, deployment_id: str, entries: list[Body]) -> None:
        """Ships runtime log entries of a deployment (secret values already redacted)."""
        await self._send("POST", f"/deployments/{deployment_id}/logs", {"entries": entries})

    async def metrics(self, deployment_id: str, points: list[Body]) -> None:
        """Ships the points one metrics pass measured for a deployment's revisions."""
        await self._send("POST", f"/deployments/{deployment_id}/metrics", {"points": points})

    async def deleted(self, deployment_id: str) -> None:
        """Says everything of a deployment in AWAITING_DELETE is gone, so the API forgets it."""
        await self._send("POST", f"/deployments/{deployment_id}/deleted")
