"""scripts/tools.sh fails early and clearly when it cannot build."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_tools(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    # An empty cache forces a build; a scratch checkout-local tool folder is not touched
    # because the build never gets that far.
    full_env = {**os.environ, "LGCP_TOOLS_CACHE": str(tmp_path / "cache"), **env}
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "tools.sh"), "helm3"], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_missing_go_is_named_with_the_fix(tmp_path: Path) -> None:
    result = run_tools(tmp_path, PATH="/usr/bin:/bin")
    assert result.returncode != 0
    assert "Go is not installed" in result.stderr and "make tools" in result.stderr


def test_unreachable_module_proxy_is_named(tmp_path: Path) -> None:
    result = run_tools(tmp_path, GOPROXY="off", GOMODCACHE=str(tmp_path / "modcache"), GOFLAGS="-modcacherw")
    assert result.returncode != 0
    assert "cannot fetch modules from the Go module proxy (GOPROXY=off)" in result.stderr
    assert not (tmp_path / "cache" / "helm3-v3.21.4").exists()


def test_every_tool_has_a_build_function_and_a_version() -> None:
    # A cold cache calls build_<tool> for each of ALL_TOOLS: a missing function only shows on a
    # fresh machine (kwok's was lost once and every warm run stayed green).
    script = "\n".join(
        [
            f"source {REPO / 'scripts' / 'tools.sh'}",
            'for t in "${ALL_TOOLS[@]}"; do',
            '  declare -F "build_$t" >/dev/null || echo "no build_$t"',
            '  [[ -n $(version_of "$t") ]] || echo "no version for $t"',
            '  [[ -n $(outputs_of "$t") ]] || echo "no outputs for $t"',
            "done",
            'echo "checked ${#ALL_TOOLS[@]}"',
        ]
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    lines = result.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("checked ") and int(lines[-1].split()[1]) >= 10, result
    assert lines[:-1] == [], lines[:-1]
