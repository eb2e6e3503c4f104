"""ASGI middleware: request id in and out, access log line, latency and status metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .json_logs import request_id
from .metrics import REQUEST_SECONDS, RESPONSES

log = logging.getLogger("lgcp_api.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def route_template(scope: Scope) -> str:
    """The matched route as a template (`/api-host/v2/deployments/{deployment_id}`), so metric
    labels stay few. Rebuilt from the path because routes of included routers keep only their
    own relative path; requests that matched no route share one label."""
    if scope.get("route") is None:
        return "unmatched"
    by_value = {str(v): k for k, v in scope.get("path_params", {}).items()}
    return "/".join(f"{{{by_value[part]}}}" if part in by_value else part for part in scope["path"].split("/"))


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) to keep the per-request overhead small."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            method = scope["method"]
            REQUEST_SECONDS.labels(method, template).observe(elapsed)
            RESPONSES.labels(method, template, str(status_code)).inc()
            # The path only: no query string, no headers, no body (secrets travel in bodies).
            log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope["path"],
                    "status": status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id.reset(token)
