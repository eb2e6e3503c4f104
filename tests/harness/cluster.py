"""The local clusters (scripts/cluster.sh), as the test suites see them.

Two kinds: "kwok" (simulated nodes and pods; the api/listener/chart suites) and "real" (a real
node that runs containers, with an ingress on its bridge address; README "The local cluster").
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "scripts" / "cluster.sh"
TOOLS_BIN = REPO / ".tools" / "bin"
# Where scripts/cluster/real.sh keeps the real node (LGCP_REAL_NODE_STATE moves it).
REAL_NODE_STATE = Path(os.environ.get("LGCP_REAL_NODE_STATE", REPO / ".cache" / "real-node"))

Kind = Literal["kwok", "real"]
KINDS: tuple[Kind, ...] = ("kwok", "real")


@dataclass
class LocalCluster:
    """A running cluster: its kubeconfig and a kubectl bound to it."""

    kubeconfig: Path
    kind: Kind = "kwok"

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """Runs kubectl against this cluster; raises with its stderr when `check` and it fails."""
        # The real node's kubectl cache stays in its state folder (down removes it).
        cache = ["--cache-dir", str(self.kubeconfig.parent / "kube-cache")] if self.kind == "real" else []
        proc = subprocess.run(
            [str(TOOLS_BIN / "kubectl"), "--kubeconfig", str(self.kubeconfig), *cache, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def get_json(self, *args: str) -> dict:
        """`kubectl get ... -o json`, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def apply(self, manifest: str, *args: str) -> subprocess.CompletedProcess:
        """Server-side applies a YAML manifest."""
        return self.kubectl("apply", "--server-side", "-f", "-", *args, input=manifest)

    def down(self) -> None:
        run_script("down", self.kind)


@dataclass
class RealCluster(LocalCluster):
    """The real node: also its ingress (Traefik on 127.0.0.1) and image import."""

    kind: Kind = "real"
    env: dict[str, str] = field(default_factory=dict)
    # Whether this test session started the node (and so may stop it), and the machine as it was
    # before (machine_snapshot), when it did.
    started_here: bool = False
    baseline: dict | None = None

    @property
    def state(self) -> Path:
        """The node's state folder (the kubeconfig sits in it)."""
        return self.kubeconfig.parent

    @property
    def ingress_url(self) -> str:
        """e.g. http://langsmith.lgcp.test (the port only when it is not 80)."""
        return self.env["LGCP_INGRESS_URL"]

    @property
    def ingress_host(self) -> str:
        return self.env["LGCP_INGRESS_HOST"]

    @property
    def ingress_class(self) -> str:
        return self.env["LGCP_INGRESS_CLASS"]

    @property
    def storage_class(self) -> str:
        return self.env["LGCP_STORAGE_CLASS"]

    def load_image(self, *archives: Path) -> list[str]:
        """Imports OCI archives into the node; returns the image names as pods refer to them."""
        return run_script("load-image", "real", *map(str, archives)).split()


def restricted_security_context(uid: int) -> dict:
    """A container securityContext that Pod Security "restricted" admits, running as UID."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
        "readOnlyRootFilesystem": True,
    }


def restricted_namespace(cluster: LocalCluster) -> str:
    """Creates a namespace `t-<random>` enforcing Pod Security "restricted"; returns its name."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
            }
        )
    )
    return name


def _env(kind: Kind) -> dict[str, str]:
    return {**os.environ, "LGCP_CLUSTER": kind, "PATH": f"{TOOLS_BIN}:{os.environ.get('PATH', '')}"}


def run_script(command: str, kind: Kind, *args: str) -> str:
    """Runs scripts/cluster.sh COMMAND for one kind of cluster; raises with its stderr on failure."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    proc = subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), command, *args], capture_output=True, text=True, env=_env(kind), timeout=900
    )
    if proc.returncode != 0:
        raise RuntimeError(f"LGCP_CLUSTER={kind} scripts/cluster.sh {command} failed:\n{proc.stderr}")
    return proc.stdout


def is_running(kind: Kind) -> bool:
    """Whether that cluster answers now (scripts/cluster.sh status)."""
    return (
        subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "status"], capture_output=True, env=_env(kind), timeout=120
        ).returncode
        == 0
    )


def cluster_env(kind: Kind) -> dict[str, str]:
    """scripts/cluster.sh env, parsed (KUBECONFIG=..., LGCP_INGRESS_URL=..., ...)."""
    pairs = (line.split("=", 1) for line in run_script("env", kind).splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def ensure_cluster(kind: Kind = "kwok") -> tuple[LocalCluster, bool]:
    """Reuses a running local cluster of that kind or starts one; says whether it was started here."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not (TOOLS_BIN / "kubectl").exists():
        raise RuntimeError("the Kubernetes tools are not built: run `make tools`")
    running = is_running(kind)
    kubeconfig = Path(run_script("up", kind).strip().splitlines()[-1])
    if kind == "real":
        return RealCluster(kubeconfig, env=cluster_env("real")), not running
    return LocalCluster(kubeconfig), not running


# --- what the real node changes on the machine (tests/foundation/test_real_node.py) -------------

# Kernel settings, paths and cgroups the node's tools touch (scripts/cluster/real.sh lists the
# same; kept apart here so that a test does not trust the script it checks).
REAL_NODE_SYSCTLS = (
    "net.ipv4.ip_forward",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.bridge.bridge-nf-call-iptables",
    "net.ipv4.conf.all.route_localnet",
)
REAL_NODE_PATHS = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/run/containerd",
    "/run/netns",
    "/opt/containerd",
    "/var/lib/containerd",
    "/etc/cni",
    "/var/run/kubernetes",
    "/usr/libexec/kubernetes",
    "/run/nri",
    # kubectl's discovery cache of the node's API server, when a kubectl without --cache-dir ran.
    str(Path.home() / ".kube" / "cache" / "discovery" / "198.18.0.1_6443"),
)
# Other work on the machine (podman builds) adds and removes its own links, routes and rules.
_OTHERS = ("veth", "podman", "cni-podman", "netavark")


def _lines(*cmd: str) -> list[str]:
    """A command's output lines; none when it fails or is not installed (on a fresh machine nft
    and ipset arrive with the node's first `up`, after the baseline is taken)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return []
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def machine_snapshot(state: Path) -> dict[str, object]:
    """What the real node may change on this machine, as comparable values."""
    sysctls = {}
    for key in REAL_NODE_SYSCTLS:
        path = Path("/proc/sys") / key.replace(".", "/")
        sysctls[key] = path.read_text().strip() if path.exists() else None
    links = sorted(line.split(": ")[1].split("@")[0] for line in _lines("ip", "-o", "link", "show"))
    nft = _lines("nft", "list", "tables")
    mount_points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    ours = (str(state), "/run/containerd", "/run/netns", "/var/lib/kubelet")
    cgroups = sorted(str(p) for p in Path("/sys/fs/cgroup").glob("*/kubepods")) + sorted(
        str(p) for p in Path("/sys/fs/cgroup").glob("kubepods")
    )
    return {
        "sysctls": sysctls,
        "links": [name for name in links if not name.startswith(_OTHERS)],
        "routes": [r for r in _lines("ip", "-4", "route", "show", "table", "all") if not any(o in r for o in _OTHERS)],
        "nft tables": [t for t in nft if not any(o in t for o in _OTHERS)],
        "kube chains in nft": [
            line for line in _lines("nft", "list", "ruleset") if "KUBE" in line or "kube-proxy" in line
        ],
        "ipsets": sorted(_lines("ipset", "list", "-n")),
        "mounts": [m for m in mount_points if m.startswith(ours)],
        "paths": {p: Path(p).exists() for p in REAL_NODE_PATHS},
        "cgroups": cgroups,
        "hosts": Path("/etc/hosts").read_text(),
        "processes": [pid for pid in os.listdir("/proc") if pid.isdigit() and _names(pid, state)],
    }


def _names(pid: str, state: Path) -> bool:
    try:
        return str(state) + "/" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace"
        )
    except OSError:
        return False
