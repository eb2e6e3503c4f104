"""The control plane's v2 API as a user calls it: through the ingress, with an API key."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx


class ControlPlaneError(RuntimeError):
    """The API refused a request or a deployment did not get where it was expected to."""


def wait_for(check: Callable[[], object], what: str, timeout: float, interval: float = 0.5) -> object:
    """Polls `check()` (exceptions count as not yet) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
            last = result
        except (httpx.HTTPError, ControlPlaneError) as exc:
            last = exc
        time.sleep(interval)
    raise ControlPlaneError(f"{what} did not happen within {timeout:.0f}s (last: {last!r})")


class ControlPlane:
    """An authenticated client of `<api_url>/v2`."""

    def __init__(self, api_url: str, api_key: str, timeout: float = 30) -> None:
        self.api_url = api_url
        self.http = httpx.Client(base_url=f"{api_url}/v2", headers={"X-Api-Key": api_key}, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, response: httpx.Response, expected: int = 200) -> dict:
        if response.status_code != expected:
            raise ControlPlaneError(
                f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:500]}"
            )
        return response.json()

    def wait_ready(self, timeout: float = 120) -> None:
        """Until the API answers an authenticated list through the ingress (the route is new)."""
        wait_for(
            lambda: self.http.get("/deployments", params={"limit": 1}).status_code == 200,
            f"the API at {self.api_url}",
            timeout,
        )

    def listener_id(self, compute_id: str, timeout: float = 120) -> str:
        """The id of the listener registered under `compute_id`."""

        def check() -> str | None:
            listed = self._json(self.http.get("/listeners", params={"limit": 100}))["resources"]
            return next((item["id"] for item in listed if item["compute_id"] == compute_id), None)

        return str(wait_for(check, f"the listener {compute_id!r} registering", timeout))

    def create_api_key(self, name: str, role: str) -> dict:
        """POST /api-keys in the caller's tenant: the row and, once only, the key itself under
        `key` (never print it)."""
        return self._json(self.http.post("/api-keys", json={"name": name, "role": role}), 201)

    def revoke_api_key(self, key_id: str) -> None:
        response = self.http.delete(f"/api-keys/{key_id}")
        if response.status_code != 204:
            raise ControlPlaneError(f"DELETE /api-keys/{key_id}: {response.status_code} {response.text[:500]}")

    def find(self, name: str) -> dict | None:
        found = self._json(self.http.get("/deployments", params={"name": name}))["resources"]
        return next((d for d in found if d["name"] == name), None)

    def create(
        self,
        name: str,
        image: str,
        listener_id: str,
        min_scale: int = 1,
        max_scale: int = 1,
        cpu: float = 0.1,
        memory_mb: int = 512,
        secrets: dict[str, str] | None = None,
        *,
        spec: dict | None = None,
        custom_url: str | None = None,
        references: list[dict] | None = None,
    ) -> dict:
        """POST /deployments of an `external_docker` image on that listener; `spec` adds
        `resource_spec` fields, `references` are `secret_references`."""
        sizing = {"min_scale": min_scale, "max_scale": max_scale, "cpu": cpu, "memory_mb": memory_mb}
        source_config: dict = {"listener_id": listener_id, "resource_spec": {**sizing, **(spec or {})}}
        if custom_url is not None:
            source_config["custom_url"] = custom_url
        body = {
            "name": name,
            "source": "external_docker",
            "source_config": source_config,
            "source_revision_config": {"image_uri": image},
            "secrets": [{"name": k, "value": v} for k, v in (secrets or {}).items()],
            "secret_references": references or [],
        }
        return self._json(self.http.post("/deployments", json=body), 201)

    def get(self, deployment_id: str) -> dict:
        return self._json(self.http.get(f"/deployments/{deployment_id}"))

    def revision(self, deployment_id: str, revision_id: str) -> dict:
        return self._json(self.http.get(f"/deployments/{deployment_id}/revisions/{revision_id}"))

    def update_image(self, deployment_id: str, image: str) -> dict:
        """PATCH a new image: a new revision."""
        return self._json(
            self.http.patch(f"/deployments/{deployment_id}", json={"source_revision_config": {"image_uri": image}})
        )

    def redeploy(self, deployment_id: str, revision_id: str) -> dict:
        """Roll back: a new revision running an earlier one's image and secrets."""
        return self._json(self.http.post(f"/deployments/{deployment_id}/revisions/{revision_id}/redeploy"), 201)

    def delete(self, deployment_id: str) -> None:
        response = self.http.delete(f"/deployments/{deployment_id}")
        if response.status_code != 204:
            raise ControlPlaneError(f"DELETE /deployments/{deployment_id}: {response.status_code} {response.text}")

    def wait_revision(
        self,
        deployment_id: str,
        statuses: set[str],
        revision_id: str | None = None,
        timeout: float = 300,
        on_change: Callable[[dict], None] | None = None,
    ) -> dict:
        """The revision (the latest unless given) once its status is one of `statuses`;
        `on_change` sees every status it passes through."""
        seen: list[str | None] = [None]

        def check() -> dict | None:
            rid = revision_id or self.get(deployment_id)["latest_revision_id"]
            revision = self.revision(deployment_id, rid)
            if revision["status"] != seen[0]:
                seen[0] = revision["status"]
                if on_change:
                    on_change(revision)
            return revision if revision["status"] in statuses else None

        return wait_for(
            check, f"revision {revision_id or 'latest'} of {deployment_id} reaching {sorted(statuses)}", timeout
        )  # type: ignore[return-value]


def wait_route(url: str, timeout: float = 120) -> httpx.Response:
    """GET `url` until it answers 200: the ingress applies a new route after a short throttle and
    drops it while the Service has no ready endpoint."""

    def check() -> httpx.Response | None:
        response = httpx.get(url, timeout=5)
        return response if response.status_code == 200 else None

    return wait_for(check, f"GET {url} answering 200", timeout, interval=0.25)  # type: ignore[return-value]
