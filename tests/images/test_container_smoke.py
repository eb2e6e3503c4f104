"""Both images, built by `make images`, start the way the chart starts them and do their job.

Each container gets the environment, arguments and security settings of its workload in the
chart rendered with values/local.yaml (non-root UID, read-only root filesystem, all capabilities
dropped, no privilege escalation, only the chart's emptyDir paths writable); only the addresses
of the chart's Services are swapped for the test's own PostgreSQL, Redis and API.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from harness.cluster import LocalCluster
from harness.postgres import PostgresServer, start_postgres
from harness.processes import free_port
from harness.redis import RedisServer, start_redis
from lgcp_local_stack.chart import Container, RenderedChart, swap_addresses
from podman_images import IMAGES_SH, PODMAN, REPO, ULIMITS, build

pytestmark = pytest.mark.images


@pytest.fixture(scope="module")
def built_images() -> None:
    """Builds both service images."""
    build("api", "listener")


@pytest.fixture(scope="module")
def chart() -> RenderedChart:
    return RenderedChart.render([REPO / "values" / "local.yaml"])


@pytest.fixture(scope="module")
def chart_postgres(chart: RenderedChart) -> PostgresServer:
    """A PostgreSQL prepared by the Postgres subchart's own init script and passwords."""
    server = start_postgres()
    database = chart.container("StatefulSet", "database")
    init = chart.named("ConfigMap", chart.client_service("database") + "-init")["data"]
    env = {
        **os.environ,
        **database.env,
        "PGHOST": server.host,
        "PGPORT": str(server.port),
        "PGPASSWORD": server.password,
    }
    for name in sorted(init):
        subprocess.run(["bash", "-c", init[name]], env=env, check=True, capture_output=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chart_redis(chart: RenderedChart) -> RedisServer:
    """A Redis with the password the Redis subchart generated."""
    server = start_redis(password=chart.secret_value(chart.client_service("cache"), "password"))
    yield server
    server.stop()


def run_container(
    image: str,
    container: Container,
    env: dict[str, str],
    args: list[str],
    tmp_path: Path,
    detach: bool = False,
    extra: list[str] = (),
) -> subprocess.CompletedProcess:
    """`podman run` with the chart's security settings, on the host's loopback network."""
    env_file = tmp_path / f"{container.name}-{uuid.uuid4().hex[:6]}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    # --passwd=false: podman would add a passwd entry for the chart's UID, which Kubernetes does not.
    command = [
        *PODMAN,
        "run",
        "--network=host",
        "--passwd=false",
        *ULIMITS,
        *container.podman_security_flags(),
        "--env-file",
        str(env_file),
        *extra,
    ]
    command += ["--detach", "--name", f"lgcp-smoke-{uuid.uuid4().hex[:8]}"] if detach else ["--rm"]
    return subprocess.run([*command, image, *args], capture_output=True, text=True, timeout=300)


def with_option(args: list[str], option: str, value: str) -> list[str]:
    """The chart's arguments with one option's value replaced (the local port or address)."""
    out = list(args)
    out[out.index(option) + 1] = value
    return out


def wait_http(url: str, what: str, headers: dict | None = None, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, headers=headers, timeout=2)
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{what} did not answer 200 within {timeout}s (last: {last})")


def logs_of(name: str) -> str:
    logs = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True)
    return (logs.stdout + logs.stderr)[-3000:]


@pytest.fixture(scope="module")
def api_container(built_images, chart, chart_postgres, chart_redis, tmp_path_factory) -> dict:
    """The API image: its migrate init container, then the server; yields its local address."""
    tmp = tmp_path_factory.mktemp("api")
    local = {
        chart.client_service("database"): f"127.0.0.1:{chart_postgres.port}",
        chart.client_service("cache"): f"127.0.0.1:{chart_redis.port}",
    }
    migrate = chart.container("Deployment", "api", name="migrate", init=True)
    result = run_container(migrate.image, migrate, swap_addresses(migrate.env, chart, local), migrate.args, tmp)
    assert result.returncode == 0, f"migrate failed: {result.stderr[-3000:]}"
    api = chart.container("Deployment", "api", name="api")
    port = free_port()
    args = with_option(with_option(api.args, "--port", str(port)), "--host", "127.0.0.1")
    started = run_container(api.image, api, swap_addresses(api.env, chart, local), args, tmp, detach=True)
    assert started.returncode == 0, started.stderr
    name = started.stdout.strip()
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/ok", "the API's /ok")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ncontainer log:\n{logs_of(name)}") from None
        yield {"url": url, "admin_key": api.env["LGCP_ADMIN_API_KEY"], "local": local, "container": name}
    finally:
        subprocess.run([*PODMAN, "rm", "--force", name], capture_output=True)


def test_api_image_migrates_and_serves_with_the_chart_settings(api_container: dict) -> None:
    ready = wait_http(f"{api_container['url']}/readyz", "the API's /readyz")
    assert ready.status_code == 200
    listed = httpx.get(
        f"{api_container['url']}/api-host/v2/deployments", headers={"X-Api-Key": api_container["admin_key"]}, timeout=5
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["resources"] == []
    refused = httpx.get(f"{api_container['url']}/api-host/v2/deployments", headers={"X-Api-Key": "wrong"}, timeout=5)
    assert refused.status_code == 401


def test_api_container_runs_as_the_charts_user_on_a_read_only_root(api_container: dict, chart: RenderedChart) -> None:
    api = chart.container("Deployment", "api", name="api")
    inspected = json.loads(
        subprocess.run(
            [*PODMAN, "inspect", api_container["container"]], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    assert inspected["State"]["Running"], logs_of(api_container["container"])
    assert (
        inspected["Config"]["User"] == f"{api.security.get('runAsUser', api.pod_security['runAsUser'])}:"
        f"{api.security.get('runAsGroup', api.pod_security['runAsGroup'])}"
    )
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    # Nothing outside the writable mounts can be written.
    probe = subprocess.run(
        [*PODMAN, "exec", api_container["container"], "python3", "-c", "open('/opt/lgcp/probe', 'w')"],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0 and "Read-only file system" in probe.stderr


@pytest.mark.cluster
def test_listener_image_registers_itself_with_the_api(
    api_container: dict, chart: RenderedChart, local_cluster: LocalCluster, tmp_path: Path
) -> None:
    listener = chart.container("Deployment", "listener", pod_name="lgcp-listener-smoke")
    # The agents' namespaces and the release namespace (the lease's), as an install has them.
    lease_namespace = listener.env.get("LGCP_LISTENER_LEASE_NAMESPACE")
    for namespace in {*listener.env["LGCP_LISTENER_NAMESPACES"].split(","), *filter(None, [lease_namespace])}:
        local_cluster.kubectl("create", "namespace", namespace, check=False)
    local = {**api_container["local"], chart.client_service("api"): api_container["url"].removeprefix("http://")}
    env = swap_addresses(listener.env, chart, local)
    # The kubeconfig stands in for the in-cluster service account; the health port is moved off
    # 8081 so that it cannot collide with anything else on the host network.
    # A copy the container's non-root user may read (the cluster's own is private to root).
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(local_cluster.kubeconfig.read_bytes())
    kubeconfig.chmod(0o644)
    env["LGCP_LISTENER_KUBECONFIG"] = "/etc/lgcp/kubeconfig"
    env["LGCP_LISTENER_HEALTH_PORT"] = str(free_port())
    started = run_container(
        listener.image,
        listener,
        env,
        listener.args,
        tmp_path,
        detach=True,
        extra=["--volume", f"{kubeconfig}:/etc/lgcp/kubeconfig:ro"],
    )
    assert started.returncode == 0, started.stderr
    name = started.stdout.strip()
    try:
        headers = {"X-Api-Key": api_container["admin_key"]}
        deadline = time.monotonic() + 90
        registered = []
        while time.monotonic() < deadline and not registered:
            listeners = httpx.get(f"{api_container['url']}/api-host/v2/listeners", headers=headers, timeout=5).json()
            registered = [r for r in listeners["resources"] if r["compute_id"] == env["LGCP_LISTENER_COMPUTE_ID"]]
            time.sleep(1)
        assert registered, f"the listener did not register; its log:\n{logs_of(name)}"
        assert registered[0]["compute_config"]["k8s_namespaces"] == env["LGCP_LISTENER_NAMESPACES"].split(",")
        health = wait_http(f"http://127.0.0.1:{env['LGCP_LISTENER_HEALTH_PORT']}/healthz", "the listener's /healthz")
        assert health.status_code == 200
    finally:
        subprocess.run([*PODMAN, "rm", "--force", name], capture_output=True)


@pytest.mark.parametrize("service", ["api", "listener"])
def test_images_carry_oci_labels_and_no_installer(built_images, chart: RenderedChart, service: str) -> None:
    component = chart.container("Deployment", service)
    labels = json.loads(
        subprocess.run(
            [*PODMAN, "image", "inspect", "--format", "{{json .Labels}}", component.image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert labels["org.opencontainers.image.version"] == component.image.rsplit(":", 1)[1]
    # The commit built: HEAD, or an ancestor when commits landed after the build.
    revision = labels["org.opencontainers.image.revision"]
    assert re.fullmatch(r"[0-9a-f]{40}", revision), revision
    assert subprocess.run(["git", "-C", str(REPO), "merge-base", "--is-ancestor", revision, "HEAD"]).returncode == 0
    assert labels["org.opencontainers.image.source"].startswith("https://")
    # Neither pip nor a compiler is left in the image the chart runs.
    probe = subprocess.run(
        [
            *PODMAN,
            "run",
            "--rm",
            "--network=none",
            *ULIMITS,
            "--entrypoint",
            "python3",
            component.image,
            "-c",
            "import importlib.util, shutil; "
            "print(importlib.util.find_spec('pip'), shutil.which('gcc'), shutil.which('cc'))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["None", "None", "None"]


def test_saved_archives_are_oci_images_of_both_services(built_images, chart: RenderedChart) -> None:
    subprocess.run(["bash", str(IMAGES_SH), "save", "api", "listener"], check=True, capture_output=True)
    for service in ("api", "listener"):
        image = chart.container("Deployment", service).image
        archive = REPO / "dist" / "images" / f"lgcp-{service}-{image.rsplit(':', 1)[1]}.oci.tar"
        with tarfile.open(archive) as tar:
            assert json.load(tar.extractfile("oci-layout"))["imageLayoutVersion"] == "1.0.0"
            index = json.load(tar.extractfile("index.json"))
        refs = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
        # podman names local images localhost/<name>, as values/local.yaml does (the node's
        # containerd keeps that name on import): what `podman load` gives back.
        assert image.startswith("localhost/") and refs == [image], index
