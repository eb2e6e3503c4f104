"""The API keeps an idle connection open longer than its clients keep theirs (issue 14 defect
11): a client never reuses a connection the server is closing at that moment. httpx keeps idle
connections 5 s (keepalive_expiry), the listener and the tests use httpx; proxies in front keep
theirs up to 60 s. Against `lgcp-api serve`, the real process."""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from harness import processes
from lgcp_api.cli import KEEP_ALIVE_SECONDS

BIN = Path(sys.executable).parent


def test_the_keep_alive_timeout_outlasts_the_clients_idle_time() -> None:
    assert httpx.Limits().keepalive_expiry < KEEP_ALIVE_SECONDS  # type: ignore[operator]
    assert KEEP_ALIVE_SECONDS > 60, "longer than the idle timeout of the proxies in front (60 s)"


def test_an_idle_connection_is_still_open_after_the_clients_keepalive_expiry(api_database, redis_url) -> None:
    env = {
        **os.environ,
        "LGCP_DATABASE_URL": api_database.dsn,
        "LGCP_REDIS_URL": redis_url,
        "LGCP_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "LGCP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LGCP_ADMIN_API_KEY": "lgcp_keepalive_" + uuid.uuid4().hex,
        "LGCP_ENVIRONMENT": "test",
        "LGCP_LOG_LEVEL": "WARNING",
    }
    port = processes.free_port()
    log = Path(tempfile.mkdtemp(prefix="lgcp-api-")) / "api.log"
    proc = processes.start([str(BIN / "lgcp-api"), "serve", "--port", str(port)], log, env=env)
    try:
        processes.wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200,
            "lgcp-api",
            proc=proc,
            log=log,
        )
        # http.client reads each answer whole (headers and body) and reuses the socket for the
        # next request; a socket the server closed meanwhile makes getresponse() raise.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/ok")
            first = conn.getresponse()
            first.read()
            assert first.status == 200
            sock = conn.sock
            time.sleep(httpx.Limits().keepalive_expiry + 1.5)  # type: ignore[operator]  # idle past httpx's 5 s
            conn.request("GET", "/ok")
            second = conn.getresponse()
            second.read()
            assert conn.sock is sock, "the second request did not reuse the idle connection"
            assert second.status == 200
        finally:
            conn.close()
    finally:
        processes.stop(proc)
