"""podman as scripts/images.sh runs it here, and the images built by it, for the image tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGES_SH = REPO / "scripts" / "images.sh"
# crun fails on this kind of machine's cgroups, and the default ulimits cannot be applied.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"]


def build(*names: str) -> None:
    """`scripts/images.sh build NAMES` (podman's layer cache makes unchanged images quick); skips
    the test where podman cannot run containers."""
    subprocess.run(["bash", str(IMAGES_SH), "base"], check=True)
    if subprocess.run(["bash", str(IMAGES_SH), "can-run"]).returncode != 0:
        pytest.skip("podman cannot run containers on this machine (scripts/images.sh can-run failed)")
    subprocess.run(["bash", str(IMAGES_SH), "build", *names], check=True)
