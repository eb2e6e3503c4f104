"""Running the pinned chart tools (helm v3 and v4, ct, helm-docs) on the repository's chart."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "langgraph-controlplane"
VALUES_DIR = REPO / "values"
TOOLS_BIN = REPO / ".tools" / "bin"
HELMS = ("helm", "helm4")
ENVIRONMENTS = sorted(p.stem for p in VALUES_DIR.glob("*.yaml"))


def tool_env() -> dict[str, str]:
    """The environment every tool runs in: pinned tools first, the unittest plugin, yamllint."""
    path = f"{TOOLS_BIN}:{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "HELM_PLUGINS": str(REPO / ".tools" / "helm-plugins")}


def run(
    *args: str | Path, cwd: Path = REPO, timeout: float = 300, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Runs a tool from .tools/bin; raises with its output when `check` and it fails."""
    command = [
        str(TOOLS_BIN / str(args[0])) if (TOOLS_BIN / str(args[0])).exists() else str(args[0]),
        *map(str, args[1:]),
    ]
    proc = subprocess.run(
        command, cwd=cwd, env={**tool_env(), **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def render(helm: str, *args: str, namespace: str = "lgcp-system", release: str = "lgcp") -> list[dict]:
    """`helm template` of the chart (hooks and test pods included), parsed into documents."""
    out = run(helm, "template", release, CHART, "--namespace", namespace, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def pod_specs(documents: list[dict]) -> list[tuple[str, dict, dict]]:
    """(name, pod metadata, pod spec) of every pod the documents would create."""
    pods = []
    for doc in documents:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Pod":
            pods.append((name, doc["metadata"], doc["spec"]))
        elif kind in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            template = doc["spec"]["template"]
            spec = dict(template["spec"])
            # A StatefulSet's pods get their claims' volumes from the controller: add them here.
            claims = [
                {
                    "name": c["metadata"]["name"],
                    "persistentVolumeClaim": {"claimName": f"{c['metadata']['name']}-{name}-0"},
                }
                for c in doc["spec"].get("volumeClaimTemplates", [])
            ]
            if claims:
                spec["volumes"] = [*spec.get("volumes", []), *claims]
            pods.append((f"{kind.lower()}-{name}", template.get("metadata", {}), spec))
    return pods
