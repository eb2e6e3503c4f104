"""The local Postgres and Redis images (images/postgres, images/redis) run the way the chart's
subcharts run them: the StatefulSets' environment, command, probes, security context and volumes
from `helm template` with values/local.yaml. Each runs with no network; the checks run inside it
(`podman exec`), as the kubelet's exec probes do."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from lgcp_local_stack.chart import Container, RenderedChart
from podman_images import PODMAN, REPO, ULIMITS, build

pytestmark = pytest.mark.images


@pytest.fixture(scope="module")
def chart() -> RenderedChart:
    build("postgres", "redis")
    return RenderedChart.render([REPO / "values" / "local.yaml"])


@pytest.fixture
def volume():
    """A host folder standing in for the PVC (the kubelet gives it the pod's fsGroup)."""
    folder = Path(tempfile.mkdtemp(prefix="lgcp-store-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def pod_fs_group(container: Container) -> int:
    return int(container.pod_security["fsGroup"])


def run_store(chart: RenderedChart, kind: str, component: str, mounts: list[str], volume: Path) -> str:
    """Starts the workload's container as the chart does; returns its podman name."""
    workload = chart.find(kind, component)["spec"]["template"]["spec"]["containers"][0]
    container = chart.container(kind, component)
    env_file = Path(tempfile.mkstemp(prefix="lgcp-store-env-")[1])
    env_file.write_text("".join(f"{k}={v}\n" for k, v in container.env.items()))
    name = f"lgcp-store-{uuid.uuid4().hex[:8]}"
    # --read-only-tmpfs=false: as in a pod, only the volumes are writable (podman would otherwise
    # mount a tmpfs over /run, where /var/run/postgresql leads).
    command = [
        *PODMAN,
        "run",
        "--detach",
        "--name",
        name,
        "--network=none",
        *ULIMITS,
        *container.podman_security_flags(volume / "empty-dirs"),
        "--read-only-tmpfs=false",
        "--env-file",
        str(env_file),
        *mounts,
    ]
    if workload.get("command"):
        command += ["--entrypoint", workload["command"][0], container.image, *workload["command"][1:]]
    else:
        command += [container.image, *container.args]
    try:
        started = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        env_file.unlink()
    assert started.returncode == 0, started.stderr
    return name


def probe(chart: RenderedChart, kind: str, component: str, which: str, name: str) -> subprocess.CompletedProcess:
    """Runs the chart's exec probe in the container, with the container's environment."""
    spec = chart.find(kind, component)["spec"]["template"]["spec"]["containers"][0][which]
    return subprocess.run([*PODMAN, "exec", name, *spec["exec"]["command"]], capture_output=True, text=True, timeout=30)


def wait_probe(chart: RenderedChart, kind: str, component: str, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(chart, kind, component, "readinessProbe", name).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"{component} never passed its readiness probe; log:\n{logs(name)}")


def logs(name: str) -> str:
    out = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True)
    return (out.stdout + out.stderr)[-3000:]


def remove(name: str) -> None:
    subprocess.run([*PODMAN, "rm", "--force", "--time", "20", name], capture_output=True)


def sql(name: str, user: str, password: str, database: str, query: str) -> subprocess.CompletedProcess:
    """psql over TCP inside the container, as a client of the Service would connect."""
    return subprocess.run(
        [
            *PODMAN,
            "exec",
            "--env",
            f"PGPASSWORD={password}",
            name,
            "psql",
            "--host",
            "127.0.0.1",
            "--username",
            user,
            "--dbname",
            database,
            "--tuples-only",
            "--no-align",
            "--command",
            query,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_postgres_image_initialises_like_the_official_one_and_keeps_its_data(chart, volume):
    database = chart.container("StatefulSet", "database")
    init = chart.named("ConfigMap", chart.client_service("database") + "-init")["data"]
    scripts = volume / "init"
    scripts.mkdir()
    for file, text in init.items():
        (scripts / file).write_text(text)
        (scripts / file).chmod(0o555)  # the ConfigMap volume's defaultMode
    data = volume / "data"
    data.mkdir()
    os.chown(data, 0, pod_fs_group(database))
    data.chmod(0o2775)
    mounts = ["--volume", f"{data}:/var/lib/postgresql/data", "--volume", f"{scripts}:/docker-entrypoint-initdb.d:ro"]
    env = database.env

    name = run_store(chart, "StatefulSet", "database", mounts, volume)
    try:
        wait_probe(chart, "StatefulSet", "database", name)
        # The subchart's init script made both roles and databases, with the Secret's passwords.
        assert (
            sql(
                name, env["APP_USERNAME"], env["APP_PASSWORD"], env["APP_DATABASE"], "SELECT current_user"
            ).stdout.strip()
            == env["APP_USERNAME"]
        )
        admin = sql(
            name,
            env["ADMIN_USERNAME"],
            env["ADMIN_PASSWORD"],
            env["ADMIN_DATABASE"],
            "SELECT rolcreatedb AND rolcreaterole AND NOT rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        assert admin.stdout.strip() == "t", admin.stderr
        # Passwords are checked over the network: a wrong one is refused.
        wrong = sql(name, env["APP_USERNAME"], "not-the-password", env["APP_DATABASE"], "SELECT 1")
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
        # The app role cannot even connect to the listener's database (REVOKE CONNECT).
        refused = sql(name, env["APP_USERNAME"], env["APP_PASSWORD"], env["ADMIN_DATABASE"], "SELECT 1")
        assert refused.returncode != 0 and "permission denied" in refused.stderr
        assert (
            sql(
                name,
                env["APP_USERNAME"],
                env["APP_PASSWORD"],
                env["APP_DATABASE"],
                "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')",
            ).returncode
            == 0
        )
        # Nothing outside the writable mounts can be written.
        write = subprocess.run(
            [*PODMAN, "exec", name, "sh", "-c", "echo x > /usr/probe"], capture_output=True, text=True
        )
        assert write.returncode != 0 and "Read-only file system" in write.stderr
        assert probe(chart, "StatefulSet", "database", "livenessProbe", name).returncode == 0
    finally:
        remove(name)
    assert (data / "pgdata" / "PG_VERSION").exists()

    # The kubelet gives the volume the pod's fsGroup again when the pod starts (fsGroupChangePolicy
    # Always): group read-write on every file, rwx and setgid on every folder. PostgreSQL refuses
    # such a PGDATA ("has invalid permissions") unless the image puts 0700 back, as the official
    # image's entrypoint does: the chart's Postgres crash-looped so on the real node after an upgrade.
    for path in [data, *data.rglob("*")]:
        if path.is_symlink():
            continue
        os.chown(path, -1, pod_fs_group(database))
        path.chmod((path.stat().st_mode | 0o2070) if path.is_dir() else (path.stat().st_mode | 0o060))

    # A restarted pod finds its data: no second initialisation, the row is still there.
    name = run_store(chart, "StatefulSet", "database", mounts, volume)
    try:
        wait_probe(chart, "StatefulSet", "database", name)
        assert "initialised" not in logs(name)
        kept = sql(name, env["APP_USERNAME"], env["APP_PASSWORD"], env["APP_DATABASE"], "SELECT v FROM kept")
        assert kept.stdout.strip() == "survives", kept.stderr
    finally:
        remove(name)


def test_postgres_image_refuses_to_initialise_without_a_password(chart, volume):
    database = chart.container("StatefulSet", "database")
    image = database.image
    result = subprocess.run(
        [
            *PODMAN,
            "run",
            "--rm",
            "--network=none",
            *ULIMITS,
            *database.podman_security_flags(),
            "--env",
            "PGDATA=/var/lib/postgresql/data/pgdata",
            image,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD is empty" in result.stderr


def test_redis_image_runs_the_subcharts_command_with_acl_users(chart, volume):
    cache = chart.container("StatefulSet", "cache")
    data = volume / "data"
    data.mkdir()
    os.chown(data, 0, pod_fs_group(cache))
    data.chmod(0o2775)
    name = run_store(chart, "StatefulSet", "cache", ["--volume", f"{data}:/data"], volume)
    try:
        wait_probe(chart, "StatefulSet", "cache", name)
        assert probe(chart, "StatefulSet", "cache", "livenessProbe", name).returncode == 0

        def cli(*args: str, auth: str | None = cache.env["REDISCLI_AUTH"], user: str | None = None) -> str:
            command = [*PODMAN, "exec"]
            command += ["--env", f"REDISCLI_AUTH={auth}"] if auth is not None else ["--env", "REDISCLI_AUTH="]
            command += [name, "redis-cli", "-h", "127.0.0.1"]
            if user:
                command += ["--user", user]
            out = subprocess.run([*command, *args], capture_output=True, text=True, timeout=30)
            return (out.stdout + out.stderr).strip()

        assert "NOAUTH" in cli("ping", auth=None)  # --requirepass from the Secret
        assert cli("config", "get", "databases").split() == ["databases", "64"]
        # What the listener does for each agent: an ACL user limited to its database number.
        assert (
            cli(
                "acl",
                "setuser",
                "agent",
                "reset",
                "on",
                ">agent-pw",
                "~*",
                "+@all",
                "-@dangerous",
                "-select",
                "+select|5",
            )
            == "OK"
        )
        assert cli("-n", "5", "set", "k", "v", auth="agent-pw", user="agent") == "OK"
        assert "NOPERM" in cli("-n", "6", "get", "k", auth="agent-pw", user="agent")
        # Append-only persistence lands on the volume, nowhere else.
        assert cli("config", "get", "appendonly").split() == ["appendonly", "yes"]
        assert (data / "appendonlydir").is_dir()
    finally:
        remove(name)
