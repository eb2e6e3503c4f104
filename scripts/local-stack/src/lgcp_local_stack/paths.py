"""Where the repository's pieces are. The package is installed editable from the repository
(a workspace member), so the repository is found from this file."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
CHART = REPO / "charts" / "langgraph-controlplane"
LOCAL_VALUES = REPO / "values" / "local.yaml"
TOOLS_BIN = REPO / ".tools" / "bin"
CLUSTER_SCRIPT = REPO / "scripts" / "cluster.sh"
IMAGES_SCRIPT = REPO / "scripts" / "images.sh"
HELM = TOOLS_BIN / "helm"
KUBECTL = TOOLS_BIN / "kubectl"


def tool_env() -> dict[str, str]:
    """The environment for the repository's scripts: its tools and venv first on PATH."""
    return {**os.environ, "PATH": f"{TOOLS_BIN}:{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}


def shown(path: Path) -> str:
    """A path as the user types it from the repository's root (where `make` runs)."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
