"""The whole product on the local cluster: the chart installed, its API and listener run locally.

The local cluster only simulates pods, so the chart's API, listener, Postgres and Redis cannot run
in it. This module installs the chart all the same (`helm upgrade --install` with
values/local.yaml), then runs each of them as a local process configured from the installed
release (`helm get manifest`, so the Secrets are the cluster's): the Postgres subchart's init
script and passwords, Redis with its password, `lgcp-api migrate|serve` and `lgcp-listener run`
with the environment and arguments of their containers. Only the chart's Service addresses are
swapped for the local ports (in the variables the listener hands to agents only for the agents'
Redis, which the listener dials itself), plus the listener's kubeconfig and health port, which
stand in for the pod's service account and port.

`make demo` and `make demo-down` run this file; tests/e2e drives the same `LocalStack`, so the
suite tests what users run.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chart_runtime import RenderedChart, swap_addresses  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "charts" / "langgraph-controlplane"
TOOLS_BIN = REPO / ".tools" / "bin"
VENV_BIN = REPO / ".venv" / "bin"
CLUSTER_SCRIPT = REPO / "scripts" / "cluster.sh"
PSA_RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}
SAMPLE_AGENT = "sample-agent"
SAMPLE_IMAGE = "registry.local/sample-agent:1"


class StackError(RuntimeError):
    """A step of bringing the stack up failed; the message says which and where its log is."""


@dataclass
class StackConfig:
    """Where the stack lives: its state folder, the release and namespace, the preferred API port."""

    state: Path = REPO / ".cache" / "demo"
    # scripts/cluster.sh keeps its kubeconfig here (LGCP_CLUSTER_STATE moves it, as it moves the cluster).
    kubeconfig: Path = Path(os.environ.get("LGCP_CLUSTER_STATE", REPO / ".cache" / "local-cluster")) / "kubeconfig"
    release: str = "lgcp"
    namespace: str = "lgcp"
    values: list[Path] = field(default_factory=lambda: [REPO / "values" / "local.yaml"])
    api_port: int | None = 8080  # preferred; a free port when taken (or when None)


def free_port(preferred: int | None = None) -> int:
    """`preferred` when nothing listens on it, else any free port on 127.0.0.1."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred or 0))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # The kernel sends SIGTERM when the stack's own process dies, even on SIGKILL: a killed
    # `make demo` or test run leaves no server behind.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None)
    if not found:
        raise StackError(f"{name} not found: run `make setup` to install PostgreSQL")
    return str(found)


@dataclass
class Process:
    """A local server or service of the stack, in its own process group, logging to a file."""

    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Stops it and its process group, escalating to SIGKILL."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _spawn(name: str, args: list[str], log: Path, env: dict[str, str], user: str | None = None) -> Process:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, user=user,
                                start_new_session=True, preexec_fn=_die_with_parent)
    return Process(name, proc, log)


def _wait(check, what: str, process: Process | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            break
        try:
            if check():
                return
        except Exception as exc:  # still starting
            last = exc
        time.sleep(0.2)
    tail = f"\n--- {process.log} ---\n{process.tail()}" if process else ""
    raise StackError(f"{what} did not become ready (last error: {last}){tail}")


class LocalStack:
    """The chart installed on the local cluster, and its workloads run as local processes."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, Process] = {}
        self.chart: RenderedChart | None = None
        self.api_port: int | None = None
        self.listener_health_port: int | None = None
        self.postgres_port: int | None = None
        self.redis_port: int | None = None

    # --- the release -----------------------------------------------------------------------

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """kubectl against the local cluster; raises with its stderr when `check` and it fails."""
        proc = subprocess.run([str(TOOLS_BIN / "kubectl"), "--kubeconfig", str(self.config.kubeconfig), *args],
                              input=input, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise StackError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def install(self, *set_values: str) -> None:
        """`helm upgrade --install --wait` of the chart into a namespace enforcing "restricted"."""
        labels = "".join(f"    {k}: {v}\n" for k, v in PSA_RESTRICTED.items())
        self.kubectl("apply", "--server-side", "-f", "-", input=(
            f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {self.config.namespace}\n  labels:\n{labels}"))
        args = [str(TOOLS_BIN / "helm"), "upgrade", "--install", self.config.release, str(CHART),
                "--namespace", self.config.namespace, "--kubeconfig", str(self.config.kubeconfig),
                "--wait", "--timeout", "300s"]
        for values in self.config.values:
            args += ["--values", str(values)]
        for value in set_values:
            args += ["--set", value]
        out = subprocess.run(args, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise StackError(f"helm upgrade --install failed:\n{out.stderr.strip()}")
        self.chart = RenderedChart.installed(self.config.release, self.config.namespace, self.config.kubeconfig)

    @property
    def agents_namespace(self) -> str:
        """Where the listener puts a deployment that names no namespace (the chart's default:
        `<release namespace>-agents`, which the chart creates)."""
        return self.chart.container("Deployment", "listener", name="listener").env["LGCP_LISTENER_DEFAULT_NAMESPACE"]

    def delete_kept_namespaces(self, wait: bool = True) -> list[str]:
        """Deletes the namespaces the release created for agents, which `helm uninstall` keeps
        (`helm.sh/resource-policy: keep`), found by the release's ownership annotations."""
        listed = json.loads(self.kubectl("get", "namespaces", "-o", "json").stdout)["items"]
        kept = [n["metadata"]["name"] for n in listed
                if (n["metadata"].get("annotations") or {}).get("meta.helm.sh/release-name") == self.config.release
                and n["metadata"]["annotations"].get("meta.helm.sh/release-namespace") == self.config.namespace]
        for name in kept:
            self.kubectl("delete", "namespace", name, "--ignore-not-found", f"--wait={str(wait).lower()}")
        return kept

    def admin_key_ref(self) -> tuple[str, str]:
        """(Secret name, key) the chart's API reads its bootstrap admin key from."""
        api = self.chart.find("Deployment", "api")
        container = next(c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "api")
        ref = next(e for e in container["env"] if e["name"] == "LGCP_ADMIN_API_KEY")["valueFrom"]["secretKeyRef"]
        return ref["name"], ref["key"]

    @property
    def admin_key(self) -> str:
        """The release's admin API key (from its Secret; callers must never print it)."""
        return self.chart.secret_value(*self.admin_key_ref())

    @property
    def api_url(self) -> str:
        """The API's base URL, `http://127.0.0.1:<port>/api-host` (after the chart's base path)."""
        base = self.chart.container("Deployment", "api", name="api").env.get("LGCP_BASE_PATH", "/").rstrip("/")
        return f"http://127.0.0.1:{self.api_port}{base}/api-host"

    @property
    def ui_url(self) -> str:
        env = self.chart.container("Deployment", "api", name="api").env
        return f"http://127.0.0.1:{self.api_port}{env.get('LGCP_BASE_PATH', '/').rstrip('/')}{env.get('LGCP_UI_PATH', '/ui')}"

    # --- Postgres and Redis, standing in for the subcharts' StatefulSets -------------------

    def start_servers(self) -> None:
        """PostgreSQL prepared by the Postgres subchart's init script and passwords; Redis with its password."""
        self.config.state.mkdir(parents=True, exist_ok=True)
        self._start_postgres()
        self._start_redis()

    def _start_postgres(self) -> None:
        database = self.chart.container("StatefulSet", "database")
        folder = self.config.state / "postgres"
        data = folder / "data"
        # The data belongs to the release's passwords: kept while they are the same (a second
        # `make demo` on the same release), initialised afresh when the release is new.
        fingerprint = hashlib.sha256(json.dumps(database.env, sort_keys=True).encode()).hexdigest()
        marker = folder / "initialised-for"
        fresh = not (data.exists() and marker.exists() and marker.read_text() == fingerprint)
        user = "postgres" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
        if fresh:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            pwfile = folder / "superuser-password"
            pwfile.write_text(database.env["POSTGRES_PASSWORD"])
            pwfile.chmod(0o600)
            if user:
                shutil.chown(folder, user=user)
                shutil.chown(pwfile, user=user)
            out = subprocess.run([_pg_binary("initdb"), "-D", str(data), "-U", database.env.get("POSTGRES_USER", "postgres"),
                                  "--pwfile", str(pwfile), "--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions"],
                                 capture_output=True, text=True, user=user)
            if out.returncode != 0:
                raise StackError(f"initdb failed in {data} (running as {user or 'this user'}): {out.stderr.strip()}")
            pwfile.unlink()
        self.postgres_port = free_port()
        process = _spawn("postgres", [_pg_binary("postgres"), "-D", str(data), "-h", "127.0.0.1",
                                      "-p", str(self.postgres_port), "-k", str(folder)],
                         folder / "postgres.log", {**os.environ, "LC_ALL": "C"}, user=user)
        self.processes["postgres"] = process
        env = {**os.environ, **database.env, "PGHOST": "127.0.0.1", "PGPORT": str(self.postgres_port),
               "PGPASSWORD": database.env["POSTGRES_PASSWORD"]}
        _wait(lambda: subprocess.run([_pg_binary("pg_isready"), "-q"], env=env).returncode == 0, "PostgreSQL", process)
        if fresh:
            init = self.chart.named("ConfigMap", self.chart.client_service("database") + "-init")["data"]
            for name in sorted(init):
                out = subprocess.run(["bash", "-c", init[name]], env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    raise StackError(f"the Postgres init script {name} failed: {out.stderr.strip()}")
            marker.write_text(fingerprint)

    def _start_redis(self) -> None:
        cache = self.chart.find("StatefulSet", "cache")["spec"]["template"]["spec"]["containers"][0]
        databases = re.search(r"--databases\s+(\d+)", " ".join(cache.get("command", []) + cache.get("args", [])))
        password = self.chart.secret_value(self.chart.client_service("cache"), "password")
        folder = self.config.state / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        self.redis_port = free_port()
        # The password goes in through a private config file, never on a command line `ps` shows.
        config = folder / "redis.conf"
        config.write_text(f"requirepass {password}\n")
        config.chmod(0o600)
        args = [shutil.which("redis-server") or "redis-server", str(config), "--bind", "127.0.0.1",
                "--port", str(self.redis_port), "--dir", str(folder), "--save", "", "--appendonly", "no"]
        if databases:
            args += ["--databases", databases.group(1)]
        process = _spawn("redis", args, folder / "redis.log", dict(os.environ))
        self.processes["redis"] = process
        env = {**os.environ, "REDISCLI_AUTH": password}
        _wait(lambda: subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], env=env,
                                     capture_output=True, text=True).stdout.strip() == "PONG", "Redis", process)

    # --- the API and the listener ----------------------------------------------------------

    def _local_addresses(self) -> dict[str, str]:
        return {self.chart.client_service("database"): f"127.0.0.1:{self.postgres_port}",
                self.chart.client_service("cache"): f"127.0.0.1:{self.redis_port}",
                self.chart.client_service("api"): f"127.0.0.1:{self.api_port}"}

    def service_env(self, component: str, container: str | None = None, init: bool = False) -> dict[str, str]:
        """A chart container's environment with the Service addresses swapped for local ones."""
        rendered = self.chart.container("Deployment", component, name=container, init=init,
                                        pod_name=f"{self.config.release}-{component}-local")
        # The listener dials the agents' Redis itself (it empties an agent's database number on
        # deletion), so that one agent-facing address must be local too. Agents' pods are
        # simulated and never dial it; the agents' Postgres host stays in-cluster.
        return swap_addresses(rendered.env, self.chart, self._local_addresses(),
                              agent_facing_dialled=("LGCP_LISTENER_AGENT_REDIS_URL",))

    def start_services(self) -> None:
        """The API's migrate init container, the API, then the listener, as the chart runs them."""
        if self.api_port is None:
            self.api_port = free_port(self.config.api_port)
        logs = self.config.state / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        base_env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}

        migrate = self.chart.container("Deployment", "api", name="migrate", init=True)
        out = subprocess.run([str(VENV_BIN / "lgcp-api"), *migrate.args],
                             env={**base_env, **self.service_env("api", "migrate", init=True)},
                             capture_output=True, text=True, timeout=300)
        (logs / "migrate.log").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            raise StackError(f"lgcp-api migrate failed (log: {logs / 'migrate.log'}):\n{out.stderr[-2000:]}")

        api = self.chart.container("Deployment", "api", name="api")
        args = _with_option(_with_option(api.args, "--host", "127.0.0.1"), "--port", str(self.api_port))
        process = _spawn("api", [str(VENV_BIN / "lgcp-api"), *args], logs / "api.log",
                         {**base_env, **self.service_env("api", "api")})
        self.processes["api"] = process
        _wait(lambda: httpx.get(f"http://127.0.0.1:{self.api_port}/readyz", timeout=2).status_code == 200,
              "the API's /readyz", process)

        listener = self.chart.container("Deployment", "listener")
        self.listener_health_port = free_port()
        env = {**base_env, **self.service_env("listener"),
               # The kubeconfig stands in for the pod's service account; the health port is moved
               # off the chart's so that it cannot collide with anything else on this machine.
               "LGCP_LISTENER_KUBECONFIG": str(self.config.kubeconfig),
               "LGCP_LISTENER_HEALTH_PORT": str(self.listener_health_port)}
        process = _spawn("listener", [str(VENV_BIN / "lgcp-listener"), *listener.args], logs / "listener.log", env)
        self.processes["listener"] = process
        _wait(lambda: httpx.get(f"http://127.0.0.1:{self.listener_health_port}/readyz", timeout=2).status_code == 200,
              "the listener's /readyz", process, timeout=90)

    def stop_services(self) -> None:
        """Stops the listener, then the API (the servers keep running)."""
        for name in ("listener", "api"):
            if name in self.processes:
                self.processes.pop(name).stop()

    def upgrade(self, *set_values: str) -> None:
        """`helm upgrade` of the release, then the API and listener restarted with its new environment."""
        self.install(*set_values)
        self.stop_services()
        self.start_services()

    def start(self) -> None:
        """Installs (or upgrades) the release and starts everything on the local machine."""
        self.install()
        self.start_servers()
        self.start_services()
        self.write_pids()

    def stop(self) -> None:
        """Stops every local process this stack started, services first."""
        self.stop_services()
        for name in ("redis", "postgres"):
            if name in self.processes:
                # SIGINT is PostgreSQL's fast shutdown; Redis takes it as well.
                self.processes.pop(name).stop(sig=signal.SIGINT)
        (self.config.state / "pids.json").unlink(missing_ok=True)

    def write_pids(self) -> None:
        """Records the pids of this run, so that `make demo-down` can stop it from elsewhere."""
        pids = {"stack": os.getpid(), **{name: p.proc.pid for name, p in self.processes.items()},
                "api_url": self.api_url}
        (self.config.state / "pids.json").write_text(json.dumps(pids))

    def admin_client(self) -> httpx.Client:
        """An HTTP client of the v2 API authenticated with the release's admin key."""
        return httpx.Client(base_url=f"{self.api_url}/v2", headers={"X-Api-Key": self.admin_key}, timeout=30)

    def listener_id(self, client: httpx.Client, timeout: float = 60) -> str:
        """The id of the listener the chart configures (it registers itself by `compute_id`)."""
        compute_id = self.chart.container("Deployment", "listener").env["LGCP_LISTENER_COMPUTE_ID"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in client.get("/listeners", params={"limit": 100}).json()["resources"]:
                if item["compute_id"] == compute_id:
                    return item["id"]
            time.sleep(0.5)
        raise StackError(f"the listener {compute_id!r} did not register (log: {self.processes['listener'].log})")


def _with_option(args: list[str], option: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(option) + 1] = value
    return out


# --- make demo / make demo-down ---------------------------------------------------------------


def _cluster_running() -> bool:
    return subprocess.run(["bash", str(CLUSTER_SCRIPT), "status"], capture_output=True).returncode == 0


def _step(message: str) -> float:
    print(f"==> {message}", flush=True)
    return time.monotonic()


def _sample_deployment(stack: LocalStack, client: httpx.Client) -> dict:
    """The sample agent: created through the API, or the one a previous run created."""
    existing = client.get("/deployments", params={"name": SAMPLE_AGENT}).json()["resources"]
    if existing:
        return existing[0]
    body = {"name": SAMPLE_AGENT, "source": "external_docker",
            "source_config": {"listener_id": stack.listener_id(client),
                              "resource_spec": {"min_scale": 1, "max_scale": 2, "cpu": 0.25, "memory_mb": 256}},
            "source_revision_config": {"image_uri": SAMPLE_IMAGE},
            "secrets": [{"name": "SAMPLE_SETTING", "value": "demo"}]}
    response = client.post("/deployments", json=body)
    if response.status_code != 201:
        raise StackError(f"creating the sample deployment failed: {response.status_code} {response.text}")
    return response.json()


def _follow_until_deployed(client: httpx.Client, deployment: dict, timeout: float = 180) -> str:
    """Prints each status of the deployment's latest revision until it is DEPLOYED; returns the last.

    A failure is an error only while no revision of the sample has ever run; a later revision
    left failed by the user's own change in an earlier run is reported and the demo goes on.
    """
    ever_deployed = deployment.get("active_revision_id") is not None
    seen = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = client.get(f"/deployments/{deployment['id']}").json()
        revision = client.get(f"/deployments/{deployment['id']}/revisions/{current['latest_revision_id']}").json()
        if revision["status"] != seen:
            seen = revision["status"]
            message = f" ({revision['status_message']})" if revision.get("status_message") else ""
            print(f"    revision {revision['id'][:8]}: {seen}{message}", flush=True)
        if seen == "DEPLOYED":
            return seen
        if seen == "DEPLOY_FAILED":
            if ever_deployed:
                print("    (left so by an earlier run's change; the UI shows its revisions and logs)")
                return seen
            raise StackError("the sample deployment failed; see its revision logs")
        time.sleep(0.5)
    raise StackError(f"the sample deployment did not reach DEPLOYED within {timeout:.0f}s")


def _print_how_to_use(stack: LocalStack, deployment: dict) -> None:
    secret, key = stack.admin_key_ref()
    kubectl = f"{_shown(TOOLS_BIN)}/kubectl --kubeconfig {_shown(stack.config.kubeconfig)}"
    api = stack.api_url
    print(f"""
The control plane is up.

  web UI   {stack.ui_url}
  API      {api}   (docs: {api}/docs)

The admin API key is in the release's Secret {secret!r} (key {key!r}) in namespace
{stack.config.namespace!r}. To read it into your shell (it is not printed here):

  export LGCP_API_KEY=$({kubectl} -n {stack.config.namespace} get secret {secret} -o jsonpath='{{.data.{key}}}' | base64 -d)

Then try:

  curl -s -H "X-Api-Key: $LGCP_API_KEY" {api}/v2/deployments
  curl -s -H "X-Api-Key: $LGCP_API_KEY" {api}/v2/listeners
  curl -s -X PATCH -H "X-Api-Key: $LGCP_API_KEY" -H 'Content-Type: application/json' \\
       -d '{{"source_revision_config": {{"image_uri": "registry.local/sample-agent:2"}}}}' \\
       {api}/v2/deployments/{deployment['id']}
  {kubectl} -n {stack.agents_namespace} get deploy,svc,ingress,hpa -l app.kubernetes.io/managed-by=lgcp-listener

Logs: {_shown(stack.config.state)}/logs/ (API, listener), postgres/ and redis/.
Stop with Ctrl-C (the cluster and release stay, so the next `make demo` is quick);
`make demo-down` stops everything, the local cluster included.
""", flush=True)


def _shown(path: Path) -> str:
    """A path as the user types it from the repository's root (where `make` runs)."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def demo_up(config: StackConfig) -> int:
    """`make demo`: everything up, the sample agent DEPLOYED, then wait for Ctrl-C."""
    config.state.mkdir(parents=True, exist_ok=True)
    lock = open(config.state / "demo.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pids = json.loads((config.state / "pids.json").read_text()) if (config.state / "pids.json").exists() else {}
        where = f" (pid {pids['stack']}, API at {pids['api_url']})" if pids else ""
        print(f"demo: a demo is already running{where}.\n      Use it, or stop it with `make demo-down`.",
              file=sys.stderr)
        return 1
    started = time.monotonic()
    stack = LocalStack(config)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt
    # Also SIGINT: a shell starting the demo in the background would otherwise have it ignored.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        t = _step("local cluster")
        if not _cluster_running():
            subprocess.run(["bash", str(CLUSTER_SCRIPT), "up"], check=True, stdout=subprocess.DEVNULL)
            (config.state / "cluster-started-by-demo").touch()
        print(f"    ready ({time.monotonic() - t:.1f}s)")
        t = _step(f"helm upgrade --install {config.release} (values/local.yaml) into namespace {config.namespace}")
        stack.install()
        print(f"    release deployed ({time.monotonic() - t:.1f}s)")
        t = _step("local PostgreSQL and Redis with the release's passwords")
        stack.start_servers()
        stack.write_pids()
        print(f"    PostgreSQL on 127.0.0.1:{stack.postgres_port}, Redis on 127.0.0.1:{stack.redis_port} "
              f"({time.monotonic() - t:.1f}s)")
        t = _step("lgcp-api migrate, lgcp-api serve, lgcp-listener run (the chart's environment)")
        stack.start_services()
        stack.write_pids()
        preferred = config.api_port
        note = f" (port {preferred} was taken)" if preferred and stack.api_port != preferred else ""
        print(f"    API on 127.0.0.1:{stack.api_port}{note}, listener ready ({time.monotonic() - t:.1f}s)")
        t = _step(f"sample agent deployment {SAMPLE_AGENT!r} through the API")
        with stack.admin_client() as client:
            deployment = _sample_deployment(stack, client)
            status = _follow_until_deployed(client, deployment)
        print(f"    {status} ({time.monotonic() - t:.1f}s; {time.monotonic() - started:.1f}s since `make demo` started)")
        _print_how_to_use(stack, deployment)
        while all(p.alive() for p in stack.processes.values()):
            time.sleep(1)
        dead = [p for p in stack.processes.values() if not p.alive()]
        print(f"demo: {', '.join(p.name for p in dead)} stopped unexpectedly; its log: {dead[0].log}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: stopping the local processes", flush=True)
        return 0
    except (StackError, subprocess.CalledProcessError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


def demo_down(config: StackConfig) -> int:
    """`make demo-down`: stops a running demo, then the cluster it started (or its release)."""
    pids_file = config.state / "pids.json"
    if pids_file.exists():
        pids = json.loads(pids_file.read_text())
        try:
            os.kill(pids["stack"], signal.SIGTERM)  # it stops its own children in order
            print(f"demo-down: stopping the demo (pid {pids['stack']})")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _alive(pids["stack"]):
                time.sleep(0.3)
        except ProcessLookupError:
            pass
        # Should the demo have died without cleaning up, its children are stopped here.
        for name, pid in pids.items():
            if name not in ("stack", "api_url") and _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        pids_file.unlink(missing_ok=True)
    marker = config.state / "cluster-started-by-demo"
    if marker.exists():
        subprocess.run(["bash", str(CLUSTER_SCRIPT), "down"], check=True)
        marker.unlink()
    elif _cluster_running():
        # The cluster was there before the demo: remove only what the demo put in it.
        stack = LocalStack(config)
        subprocess.run([str(TOOLS_BIN / "helm"), "uninstall", config.release, "--namespace", config.namespace,
                        "--kubeconfig", str(config.kubeconfig), "--wait"], capture_output=True)
        stack.kubectl("delete", "namespace", config.namespace, "--ignore-not-found", "--wait=true")
        agents = stack.delete_kept_namespaces()
        print(f"demo-down: release {config.release!r} and namespaces {[config.namespace, *agents]!r} removed; "
              "the cluster was running before the demo and keeps running")
    print("demo-down: done")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line of `make demo` (`up`) and `make demo-down` (`down`)."""
    defaults = StackConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--state", type=Path, default=defaults.state, help="data, logs and pid file (.cache/demo)")
    parser.add_argument("--namespace", default=defaults.namespace, help="the release's namespace (lgcp)")
    parser.add_argument("--api-port", type=int, default=defaults.api_port,
                        help="preferred API port (8080); a free one when taken")
    args = parser.parse_args(argv)
    config = StackConfig(state=args.state.resolve(), namespace=args.namespace, api_port=args.api_port)
    return demo_up(config) if args.command == "up" else demo_down(config)


if __name__ == "__main__":
    sys.exit(main())
