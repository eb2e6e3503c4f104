"""The local Kubernetes node (scripts/cluster.sh with LGCP_CLUSTER=real): started when needed,
images imported into its containerd, and reached through its ingress controller (on the bridge
address, by the LangSmith host name).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .paths import CLUSTER_SCRIPT, HELM, KUBECTL, tool_env


class NodeError(RuntimeError):
    """The local node could not be started or used; the message says what failed."""


def _cluster_env() -> dict[str, str]:
    return {**tool_env(), "LGCP_CLUSTER": "real"}


def cluster_script(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    """`scripts/cluster.sh ARGS` for the real node; raises with its output when `check` and it fails."""
    proc = subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), *args], capture_output=True, text=True, env=_cluster_env(), timeout=timeout
    )
    if check and proc.returncode != 0:
        raise NodeError(f"scripts/cluster.sh {' '.join(args)} failed:\n{(proc.stdout + proc.stderr).strip()[-3000:]}")
    return proc


def running() -> bool:
    """Whether the real node answers (`scripts/cluster.sh status`)."""
    return cluster_script("status", timeout=60, check=False).returncode == 0


@dataclass(frozen=True)
class Ingress:
    """Where the node's ingress controller serves the LangSmith host."""

    host: str
    port: int
    class_name: str

    @property
    def origin(self) -> str:
        """`http://<host>[:port]`, the scheme and authority of every URL on the host."""
        return f"http://{self.host}" if self.port == 80 else f"http://{self.host}:{self.port}"


@dataclass
class Node:
    """A running node: its kubeconfig, kubectl and helm bound to it, and its ingress."""

    kubeconfig: Path
    ingress: Ingress

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """kubectl against the node; raises with its stderr when `check` and it fails."""
        proc = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise NodeError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def get_json(self, *args: str) -> dict:
        """`kubectl get ARGS -o json`, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def apply(self, manifest: str, *args: str) -> subprocess.CompletedProcess:
        """Server-side applies a YAML or JSON manifest."""
        return self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", *args, input=manifest)

    def helm(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        """helm (v3) against the node; raises with its stderr when `check` and it fails."""
        proc = subprocess.run(
            [str(HELM), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=tool_env(),
        )
        if check and proc.returncode != 0:
            raise NodeError(
                f"helm {' '.join(args[:2])} failed (exit {proc.returncode}):\n"
                f"{(proc.stdout + proc.stderr).strip()[-3000:]}"
            )
        return proc

    def load_image(self, archive: Path) -> None:
        """Imports an OCI archive into the node's containerd (pods then use it, IfNotPresent)."""
        cluster_script("load-image", str(archive), timeout=600)

    def image_present(self, ref: str) -> bool:
        """Whether the node reports holding `ref` (the kubelet lists its images in the Node status)."""
        wanted = {ref, f"docker.io/library/{ref.removeprefix('localhost/')}"}
        for item in self.get_json("nodes")["items"]:
            for image in item["status"].get("images") or []:
                if wanted & set(image.get("names") or []):
                    return True
        return False


def describe() -> Node:
    """The running node as `scripts/cluster.sh env` describes it."""
    pairs = (line.split("=", 1) for line in cluster_script("env", timeout=60).stdout.splitlines() if "=" in line)
    env = dict(pairs)
    try:
        return Node(
            Path(env["KUBECONFIG"]),
            Ingress(env["LGCP_INGRESS_HOST"], int(env["LGCP_INGRESS_PORT"]), env["LGCP_INGRESS_CLASS"]),
        )
    except KeyError as missing:
        raise NodeError(f"scripts/cluster.sh env printed no {missing}: {env}") from None


def up() -> tuple[Node, bool]:
    """Starts the node unless it runs (idempotent); says whether it was started here."""
    was_running = running()
    if not was_running:
        if os.geteuid() != 0:
            raise NodeError("the local node needs root (it runs containerd and the kubelet): run as root")
        cluster_script("up")
    return describe(), not was_running


def down() -> None:
    """Stops the node (scripts/cluster.sh down: only its own processes, mounts and rules)."""
    cluster_script("down")
