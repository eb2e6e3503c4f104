"""The images install exactly what uv.lock pins: each service's requirements.txt is its export."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["api", "listener"])
def test_requirements_txt_is_the_export_of_uv_lock(service: str) -> None:
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH: run `make setup`"
    exported = subprocess.run(
        [uv, "export", "--package", f"lgcp-{service}", "--frozen", "--no-emit-workspace", "--no-dev"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (REPO / "services" / service / "requirements.txt").read_text()
    # The header repeats the command line; compare the requirements themselves.
    assert requirement_lines(committed) == requirement_lines(exported), (
        f"services/{service}/requirements.txt is stale: run `make lock`"
    )


def requirement_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]
