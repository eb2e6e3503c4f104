"""`make demo` and `make demo-down`: the whole product on the local node.

`up` starts the node unless it runs, imports the images `make images` built, installs the chart
with values/local.yaml (`helm upgrade --install --wait`; the API, the listener, Postgres, Redis
and the migration run as pods), runs `helm test`, creates the sample agent through the API on the
ingress and waits until it is DEPLOYED and answers, then prints how to use it and returns:
everything keeps running in the node. `down` removes what `up` made: the release and its
namespaces, and the node only when `up` started it. `up` is idempotent: run again, it upgrades the
release and reuses the agent.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import images, node
from .control_plane import ControlPlane, ControlPlaneError, wait_route
from .images import ImageError
from .node import NodeError
from .paths import REPO, TOOLS_BIN, shown
from .release import Release, ReleaseConfig

SAMPLE_AGENT = "sample-agent"
SAMPLE_IMAGE = "localhost/lgcp-sample-agent:1"
SAMPLE_IMAGE_NEXT = "localhost/lgcp-sample-agent:2"


@dataclass
class DemoConfig:
    """Where the demo keeps its state, and which release it installs."""

    state: Path = REPO / ".cache" / "demo"
    release: ReleaseConfig = field(default_factory=ReleaseConfig)


class DemoError(RuntimeError):
    """A step of `make demo` failed; the message says which."""


def _step(message: str) -> float:
    print(f"==> {message}", flush=True)
    return time.monotonic()


def _done(started: float, what: str = "done") -> None:
    print(f"    {what} ({time.monotonic() - started:.1f}s)", flush=True)


def _process_start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/<pid>/stat): with the pid, it names one
    process, so a pid reused since is never signalled by mistake. None once it has exited (a
    zombie no longer runs, though its entry stays until its parent reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


class _Marks:
    """What `up` did, in `<state>/marks.json`, so that `down` undoes exactly that."""

    def __init__(self, state: Path) -> None:
        self.path = state / "marks.json"
        self.data: dict = json.loads(self.path.read_text()) if self.path.exists() else {}

    def set(self, key: str, value: object) -> None:
        self.data[key] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _sample_agent(plane: ControlPlane, release: Release) -> dict:
    """The sample agent: the one a previous run created, or a new one."""
    existing = plane.find(SAMPLE_AGENT)
    if existing:
        return existing
    return plane.create(SAMPLE_AGENT, SAMPLE_IMAGE, plane.listener_id(release.compute_id), memory_mb=512)


def _follow(plane: ControlPlane, deployment: dict, timeout: float = 300) -> dict:
    """Prints each status of the latest revision until DEPLOYED (or DEPLOY_FAILED)."""

    def show(revision: dict) -> None:
        message = f" ({revision['status_message']})" if revision.get("status_message") else ""
        print(f"    revision {revision['id'][:8]}: {revision['status']}{message}", flush=True)

    revision = plane.wait_revision(deployment["id"], {"DEPLOYED", "DEPLOY_FAILED"}, timeout=timeout, on_change=show)
    if revision["status"] == "DEPLOY_FAILED" and deployment.get("active_revision_id") is None:
        raise DemoError("the sample agent failed to deploy; its revision's events in the UI say why")
    return revision


def _how_to_use(release: Release, deployment: dict) -> str:
    secret, key = release.admin_key_ref()
    kubectl = f"{shown(TOOLS_BIN)}/kubectl --kubeconfig {release.node.kubeconfig}"
    ns = release.config.namespace
    agent = release.agent_url(SAMPLE_AGENT)
    return f"""
The control plane is up, and the sample agent answers through the ingress.

  web UI   {release.ui_url}
  API      {release.api_url}   (docs: {release.api_url}/docs)
  agent    {agent}

Call the agent (a LangGraph server, langgraph-api with its Postgres and Redis):

  curl {agent}/ok

  from langgraph_sdk import get_sync_client
  client = get_sync_client(url="{agent}")
  print(client.runs.wait(None, "agent", input={{"messages": "hello"}})["messages"][-1]["content"])

The admin API key is in the Secret {secret!r} (key {key!r}) in namespace {ns!r}. To read it into
your shell (it is not printed here):

  export LGCP_API_KEY=$({kubectl} -n {ns} get secret {secret} -o jsonpath='{{.data.{key}}}' | base64 -d)

Then, e.g., roll the agent to its second image revision:

  curl -s -H "X-Api-Key: $LGCP_API_KEY" {release.api_url}/v2/deployments
  curl -s -X PATCH -H "X-Api-Key: $LGCP_API_KEY" -H 'Content-Type: application/json' \\
       -d '{{"source_revision_config": {{"image_uri": "{SAMPLE_IMAGE_NEXT}"}}}}' \\
       {release.api_url}/v2/deployments/{deployment["id"]}
  {kubectl} -n {release.agents_namespace} get pods,svc,ingress

Everything runs in the local node; `make demo-down` removes it.
"""


def up(config: DemoConfig) -> int:
    """`make demo`."""
    config.state.mkdir(parents=True, exist_ok=True)
    lock = open(config.state / "demo.lock", "a+")  # noqa: SIM115 (held until `up` returns)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("demo: another `make demo` is running; wait for it, or stop it with `make demo-down`", file=sys.stderr)
        return 1
    pid = os.getpid()
    (config.state / "demo.pid").write_text(json.dumps({"pid": pid, "start": _process_start_time(pid)}))
    marks = _Marks(config.state)
    started = time.monotonic()
    try:
        t = _step("local node (scripts/cluster.sh up)")
        running, started_here = node.up()
        if started_here or marks.data.get("node_started_by_demo"):
            marks.set("node_started_by_demo", True)
        _done(t, f"ready; ingress at {running.ingress.origin}")
        t = _step("images into the node (built by `make images`)")
        imported = images.import_into(running, images.DEMO_IMAGES, config.state / "imported-images.json")
        _done(t, f"imported {len(imported)}" + (" (the others were there already)" if imported else ", all were there"))
        release = Release(running, config.release)
        t = _step(
            f"helm upgrade --install {config.release.release} (values/local.yaml) "
            f"into namespace {config.release.namespace}"
        )
        marks.set("release", {"name": config.release.release, "namespace": config.release.namespace})
        was_installed = release.installed()
        release.install()
        if was_installed and imported:
            restarted = release.restart_workloads_using(imported)
            if restarted:
                print(f"    restarted on the rebuilt images: {', '.join(restarted)}", flush=True)
        _done(t, "API, listener, Postgres and Redis Ready")
        t = _step("helm test")
        release.test()
        _done(t, "passed")
        t = _step(f"sample agent {SAMPLE_AGENT!r} through the API at {release.api_url}")
        with ControlPlane(release.api_url, release.admin_key) as plane:
            plane.wait_ready()
            deployment = _sample_agent(plane, release)
            revision = _follow(plane, deployment)
        if revision["status"] == "DEPLOYED":
            wait_route(f"{release.agent_url(SAMPLE_AGENT)}/ok")
        _done(t, f"{revision['status']}, answering; {time.monotonic() - started:.1f}s since `make demo` started")
        print(_how_to_use(release, deployment), flush=True)
        return 0
    except (NodeError, ImageError, ControlPlaneError, DemoError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        (config.state / "demo.pid").unlink(missing_ok=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _stop_running_up(state: Path) -> None:
    """A `make demo` still running is stopped first (only that very process: pid and start time)."""
    pid_file = state / "demo.pid"
    if not pid_file.exists():
        return
    recorded = json.loads(pid_file.read_text())
    if recorded.get("start") and _process_start_time(recorded["pid"]) == recorded["start"]:
        print(f"demo-down: stopping the running `make demo` (pid {recorded['pid']})")
        os.kill(recorded["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _process_start_time(recorded["pid"]) == recorded["start"]:
            time.sleep(0.2)
    pid_file.unlink(missing_ok=True)


def down(config: DemoConfig) -> int:
    """`make demo-down`: the release and its namespaces, then the node if `make demo` started it."""
    _stop_running_up(config.state)
    marks = _Marks(config.state)
    try:
        if not node.running():
            print("demo-down: the local node is not running; nothing to remove from it")
        else:
            recorded = marks.data.get("release") or {}
            if recorded:
                running = node.describe()
                release = Release(running, ReleaseConfig(release=recorded["name"], namespace=recorded["namespace"]))
                removed = release.uninstall()
                print(f"demo-down: release {recorded['name']!r} and namespaces {removed} removed")
            if marks.data.get("node_started_by_demo"):
                node.down()
                print("demo-down: the local node `make demo` started is stopped")
            else:
                print("demo-down: the local node was running before `make demo` and keeps running")
    except NodeError as exc:
        print(f"demo-down: {exc}", file=sys.stderr)
        return 1
    marks.clear()
    (config.state / "imported-images.json").unlink(missing_ok=True)
    print("demo-down: done")
    return 0
