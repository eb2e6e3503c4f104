"""The UI talks to the v2 API in-process, as the signed-in key, so every rule (roles, tenants,
validation, idempotency, notifications, audit) is enforced by the one code path the API has."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI


class ApiError(Exception):
    """A non-2xx answer of the API: its status and FastAPI-style `detail`."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"API answered {status}")
        self.status = status
        self.detail = detail


class ApiClient:
    """Calls `<api prefix>/v2/...` on the same ASGI app with the session's key and tenant."""

    def __init__(
        self, app: FastAPI, api_prefix: str, api_key: str, tenant_id: str | None, request_id: str | None = None
    ) -> None:
        headers = {"X-Api-Key": api_key}
        if tenant_id:
            headers["X-Tenant-Id"] = tenant_id
        if request_id:
            headers["X-Request-Id"] = request_id
        self._http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=f"http://lgcp-ui{api_prefix}/v2",
            headers=headers,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, Any] | None = None,
    ) -> Any:
        """The decoded answer (None for 204); raises ApiError otherwise."""
        response = await self._http.request(method, path, params=params, json=json, headers=headers)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        return None if response.status_code == 204 else response.json()

    async def get_with_etag(self, path: str) -> tuple[Any, str | None]:
        """A resource and its ETag, for a later write with If-Match."""
        response = await self._http.get(path)
        if response.status_code >= 400:
            raise ApiError(response.status_code, response.json().get("detail"))
        return response.json(), response.headers.get("etag")

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params={k: v for k, v in params.items() if v is not None})

    async def all_pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list (for the few short lists a page needs whole)."""
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self.get(path, limit=100, offset=offset, **params)
            items.extend(page["resources"])
            if len(page["resources"]) < 100:
                return items
            offset = page["offset"]
