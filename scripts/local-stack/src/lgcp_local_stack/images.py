"""The project's images (scripts/images.sh) built with podman and imported into the local node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .node import Node
from .paths import IMAGES_SCRIPT, tool_env

# What a demo or an e2e run needs on the node: the chart's, the sample agent's, the crashing one's.
DEMO_IMAGES = ("api", "listener", "postgres", "redis", "sample-agent")
E2E_IMAGES = (*DEMO_IMAGES, "crashing-agent")
PODMAN = ("podman", "--runtime", "runc", "--cgroup-manager=cgroupfs")


class ImageError(RuntimeError):
    """An image could not be built, saved or imported."""


def _images_sh(*args: str, timeout: float = 3600) -> str:
    proc = subprocess.run(
        ["bash", str(IMAGES_SCRIPT), *args], capture_output=True, text=True, env=tool_env(), timeout=timeout
    )
    if proc.returncode != 0:
        raise ImageError(f"scripts/images.sh {' '.join(args)} failed:\n{(proc.stdout + proc.stderr).strip()[-3000:]}")
    return proc.stdout


def build(names: tuple[str, ...]) -> None:
    """`scripts/images.sh build NAMES` (podman's layer cache makes unchanged images quick)."""
    _images_sh("build", *names)


def refs(names: tuple[str, ...]) -> list[str]:
    """The references those images are tagged with (`localhost/<name>:<tag>`)."""
    return _images_sh("refs", *names, timeout=60).split()


def image_id(ref: str) -> str:
    """podman's id of a built image; raises naming `make images` when it is not built."""
    proc = subprocess.run([*PODMAN, "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ImageError(f"{ref} is not built: run `make images`")
    return proc.stdout.strip()


def import_into(node: Node, names: tuple[str, ...], stamps: Path) -> list[str]:
    """Imports every image of `names` the node lacks or holds in another build; returns those imported.

    `stamps` (a JSON file) remembers which podman build of each reference was imported, so that
    a rebuilt image is imported again and an unchanged one is not."""
    imported = json.loads(stamps.read_text()) if stamps.exists() else {}
    done = []
    for ref in refs(names):
        built = image_id(ref)
        if imported.get(ref) == built and node.image_present(ref):
            continue
        archive = Path(_images_sh("archive", ref, timeout=60).strip())
        _images_sh("save", ref, timeout=600)
        node.load_image(archive)
        imported[ref] = built
        stamps.parent.mkdir(parents=True, exist_ok=True)
        stamps.write_text(json.dumps(imported, indent=1))
        done.append(ref)
    return done
