"""A property-based run over the OpenAPI spec (schemathesis) against the real server: no 5xx."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from api_support import ADMIN_KEY, SECRET_KEY
from harness import processes

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_created_objects_link_to_the_operations_on_them(app) -> None:
    """The stateful phase follows OpenAPI links: every create answers with links to its object."""
    spec = app.openapi()
    creates = [
        (path, operation["responses"]["201"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method == "post"
        and "201" in operation.get("responses", {})
        and path.endswith(("/deployments", "/revisions", "/listeners", "/api-keys", "/tenants"))
    ]
    assert len(creates) == 5, [path for path, _ in creates]
    for path, created in creates:
        assert created.get("links"), f"POST {path} answers without links"


async def test_generated_requests_never_get_a_server_error(api_dsn, redis_url, encryption_key):
    folder = Path(tempfile.mkdtemp(prefix="lgcp-schemathesis-"))
    port = processes.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LGCP_")},
        "LGCP_DATABASE_URL": api_dsn,
        "LGCP_REDIS_URL": redis_url,
        "LGCP_SECRET_KEY": SECRET_KEY,
        "LGCP_ENCRYPTION_KEYS": encryption_key,
        "LGCP_ADMIN_API_KEY": ADMIN_KEY,
        "LGCP_LOG_LEVEL": "WARNING",
    }
    server = processes.start(
        [sys.executable, "-m", "lgcp_api", "serve", "--host", "127.0.0.1", "--port", str(port)],
        folder / "api.log",
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(
            processes.wait_until,
            lambda: httpx.get(f"{base}/ok").status_code == 200,
            "lgcp-api",
            proc=server,
            log=folder / "api.log",
        )
        # A listener, so that generated deployments can also pass validation and be stored.
        await asyncio.to_thread(
            httpx.post,
            f"{base}/api-host/v2/listeners",
            headers={"X-Api-Key": ADMIN_KEY},
            json={"compute_id": "fuzz", "compute_config": {"k8s_namespaces": ["agents"]}},
        )
        result = await asyncio.to_thread(
            subprocess.run,
            [
                str(SCHEMATHESIS),
                "run",
                f"{base}/api-host/openapi.json",
                "--checks",
                "not_a_server_error",
                "-H",
                f"X-Api-Key: {ADMIN_KEY}",
                "--max-examples",
                "10",
                "--seed",
                "20261124",
                "--workers",
                "1",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=540,
            cwd=folder,
        )
        log = (folder / "api.log").read_text(errors="replace")
        assert result.returncode == 0, result.stdout[-6000:] + "\n--- API log ---\n" + log[-3000:]
        assert "Traceback" not in log, log[-3000:]
    finally:
        processes.stop(server)
