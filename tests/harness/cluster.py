"""The local kwok cluster (scripts/cluster.sh), as the test suites see it."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "scripts" / "cluster.sh"
TOOLS_BIN = REPO / ".tools" / "bin"


@dataclass
class LocalCluster:
    """A running cluster: its kubeconfig and a kubectl bound to it."""

    kubeconfig: Path

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Runs kubectl against this cluster; raises with its stderr when `check` and it fails."""
        proc = subprocess.run(
            [str(TOOLS_BIN / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input, capture_output=True, text=True, timeout=120,
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
        _run_script("down")


def _run_script(command: str) -> str:
    env = {**os.environ, "PATH": f"{TOOLS_BIN}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", str(CLUSTER_SCRIPT), command], capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0 and command != "status":
        raise RuntimeError(f"scripts/cluster.sh {command} failed:\n{proc.stderr}")
    return proc.stdout if proc.returncode == 0 else ""


def ensure_cluster() -> tuple[LocalCluster, bool]:
    """Reuses a running local cluster or starts one; says whether it was started here."""
    if not (TOOLS_BIN / "kubectl").exists():
        raise RuntimeError("the Kubernetes tools are not built: run `make tools`")
    running = subprocess.run(["bash", str(CLUSTER_SCRIPT), "status"], capture_output=True).returncode == 0
    out = _run_script("up")
    return LocalCluster(Path(out.strip().splitlines()[-1])), not running
