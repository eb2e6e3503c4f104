"""The chart's commands and its `helm test` scripts, run against the real API: on the local
cluster pods are simulated, so this is where the scripts themselves are proven to work (and to
fail). The control plane's test checks its API; a data plane's (api.enabled=false) checks that
the control plane answers at listener.controlPlane.url and accepts the listener's key."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from chart_commands import REPO, VALUES_DIR, render
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from harness import processes

ADMIN_KEY = "lgcp_chart_tests_" + "k" * 40


def rendered(kind: str, component: str) -> dict:
    documents = render("helm", "-f", str(VALUES_DIR / "local.yaml"))
    return next(
        d
        for d in documents
        if d["kind"] == kind and d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    )


@pytest.fixture
def api(postgres_dsn: str, redis_url: str, tmp_path: Path):
    """`lgcp-api` started with the chart's own args (migrate init container, then serve)."""
    pod = rendered("Deployment", "api")["spec"]["template"]["spec"]
    env = {
        **os.environ,
        "LGCP_DATABASE_URL": postgres_dsn,
        "LGCP_REDIS_URL": redis_url,
        "LGCP_SECRET_KEY": "s" * 64,
        "LGCP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LGCP_ADMIN_API_KEY": ADMIN_KEY,
        "LGCP_ENVIRONMENT": "test",
    }
    binary = str(REPO / ".venv" / "bin" / "lgcp-api")
    subprocess.run([binary, *pod["initContainers"][0]["args"]], env=env, check=True, capture_output=True, timeout=120)
    args = pod["containers"][0]["args"]
    port = processes.free_port()
    # The chart's serve args, bound to loopback on a free port instead of 0.0.0.0:8080.
    args = [*args[: args.index("--host")], "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "api.log"
    proc = processes.start([binary, *args], log, env=env)
    processes.wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200, "lgcp-api", proc=proc, log=log
    )
    yield f"http://127.0.0.1:{port}"
    processes.stop(proc)


def run_helm_test_script(base: str, api_key: str) -> subprocess.CompletedProcess:
    container = rendered("Pod", "test")["spec"]["containers"][0]
    assert container["command"][:2] == ["python3", "-c"]
    env = {**os.environ, "API_ROOT": f"{base}/api-host", "READYZ_URL": f"{base}/readyz", "API_KEY": api_key}
    names = {e["name"] for e in container["env"]}
    assert names == {"API_ROOT", "READYZ_URL", "API_KEY"}
    return subprocess.run(
        [sys.executable, "-c", container["command"][2]], env=env, capture_output=True, text=True, timeout=60
    )


def test_helm_test_script_passes_against_the_api(api: str) -> None:
    proc = run_helm_test_script(api, ADMIN_KEY)
    assert proc.returncode == 0, proc.stderr
    assert "ok: /readyz and an authenticated list answered" in proc.stdout


def test_helm_test_script_fails_with_a_wrong_key(api: str) -> None:
    proc = run_helm_test_script(api, "lgcp_wrong_" + "x" * 40)
    assert proc.returncode != 0
    assert "401" in proc.stderr


# --- a data plane's test: the control plane at listener.controlPlane.url ------------------------


def run_control_plane_check(url: str, api_key: str, ca_file: Path | None = None) -> subprocess.CompletedProcess:
    """The data plane's `helm test` script (values/dataplane.yaml), run here with the pod's
    environment: the control plane's URL, the listener key and, as the pod does with a CA bundle
    Secret, SSL_CERT_FILE (never this machine's own)."""
    documents = render("helm", "-f", str(VALUES_DIR / "dataplane.yaml"))
    (pod,) = [d for d in documents if d["kind"] == "Pod"]
    container = pod["spec"]["containers"][0]
    assert container["command"][:2] == ["python3", "-c"]
    names = {e["name"] for e in container["env"]}
    assert names == {"CONTROL_PLANE_URL", "LISTENER_API_KEY", "SSL_CERT_FILE"}
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    env |= {"CONTROL_PLANE_URL": url, "LISTENER_API_KEY": api_key}
    if ca_file is not None:
        env["SSL_CERT_FILE"] = str(ca_file)
    return subprocess.run(
        [sys.executable, "-c", container["command"][2]], env=env, capture_output=True, text=True, timeout=60
    )


def admin_get(api: str, path: str) -> dict:
    answer = httpx.get(f"{api}/api-host/v2{path}", headers={"X-Api-Key": ADMIN_KEY}, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def listener_key(api: str) -> str:
    """A key with the role `listener`, made on the control plane as a data plane's is."""
    answer = httpx.post(
        f"{api}/api-host/v2/api-keys",
        json={"name": "data-plane-eu-1", "role": "listener"},
        headers={"X-Api-Key": ADMIN_KEY},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["key"]


def test_control_plane_check_passes_with_the_listener_key_and_changes_nothing(api: str, listener_key: str) -> None:
    listeners, audit = admin_get(api, "/listeners"), admin_get(api, "/audit-log")
    proc = run_control_plane_check(f"{api}/api-host/", listener_key)
    assert proc.returncode == 0, proc.stderr
    assert f"ok: the control plane at {api}/api-host accepts the listener key" in proc.stdout
    assert listener_key not in proc.stdout + proc.stderr
    # No listener registered, nothing audited.
    assert admin_get(api, "/listeners") == listeners
    assert admin_get(api, "/audit-log") == audit


def test_control_plane_check_fails_with_a_wrong_key(api: str) -> None:
    wrong = "lgcp_wrong_" + "x" * 40
    proc = run_control_plane_check(f"{api}/api-host", wrong)
    assert proc.returncode != 0
    assert "the control plane refused the listener key (401: invalid or revoked API key)" in proc.stderr
    assert wrong not in proc.stdout + proc.stderr


def test_control_plane_check_fails_with_a_key_of_another_role(api: str) -> None:
    proc = run_control_plane_check(f"{api}/api-host", ADMIN_KEY)
    assert proc.returncode != 0
    assert "the control plane refused the listener key (403: role 'admin' may not call the listener API" in proc.stderr
    assert ADMIN_KEY not in proc.stdout + proc.stderr


def test_control_plane_check_fails_where_the_listener_api_does_not_answer(api: str, listener_key: str) -> None:
    # The API's host without its /api-host root: it answers 404, but not the listener API's.
    proc = run_control_plane_check(api, listener_key)
    assert proc.returncode != 0
    assert "answered 404, not as the listener API does" in proc.stderr
    proc = run_control_plane_check(f"http://127.0.0.1:{processes.free_port()}/api-host", listener_key)
    assert proc.returncode != 0
    assert "did not answer: ConnectError" in proc.stderr


# A server that stands in for a control plane behind a private CA: it answers as the listener API
# does for one key, and otherwise echoes the request's headers where the script's excerpt of an
# answer (300 characters) ends, so that the key straddles the cut.
KNOWN_KEY = "lgcp_known_" + "k" * 40


class _ListenerApiStandIn(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.headers.get("X-Api-Key") == KNOWN_KEY:
            status, body = 404, json.dumps({"detail": "listener not found"})
        else:
            status, body = 500, "unexpected request ".ljust(280, ".") + f" {self.headers.get('X-Api-Key')}"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, signer, *, ca: bool):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
def private_ca_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL, CA bundle) of an HTTPS stand-in whose certificate a private CA signed."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("chart-tests private CA", ca_key, None, ca_key, ca=True)
    server_cert = _certificate("127.0.0.1", server_key, ca_cert.subject, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
    (tmp_path / "server.crt").write_bytes(server_cert.public_bytes(pem))
    (tmp_path / "server.key").write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ListenerApiStandIn)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/api-host", tmp_path / "ca.crt"
    server.shutdown()
    server.server_close()


def test_control_plane_check_trusts_the_ca_bundle_it_is_given(private_ca_server: tuple[str, Path]) -> None:
    url, ca_file = private_ca_server
    proc = run_control_plane_check(url, KNOWN_KEY, ca_file)
    assert proc.returncode == 0, proc.stderr
    assert "accepts the listener key" in proc.stdout
    # Without the bundle (the image's public roots) the private CA is not trusted.
    proc = run_control_plane_check(url, KNOWN_KEY)
    assert proc.returncode != 0
    assert "did not answer: ConnectError" in proc.stderr and "CERTIFICATE_VERIFY_FAILED" in proc.stderr


def test_control_plane_check_never_prints_the_key_an_answer_echoes(private_ca_server: tuple[str, Path]) -> None:
    url, ca_file = private_ca_server
    key = "lgcp_echoed_" + "e" * 40
    proc = run_control_plane_check(url, key, ca_file)
    assert proc.returncode != 0
    assert "answered 500, not as the listener API does" in proc.stderr
    assert "<listener key>" in proc.stderr  # the echo was there, redacted
    # Its first 19 characters fall within the excerpt: none is printed.
    assert key[:16] not in proc.stdout + proc.stderr
