"""`lgcp-listener run` with a bad configuration names what is wrong and never echoes a secret."""

from __future__ import annotations

import subprocess
from pathlib import Path

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def run(**variables: str) -> subprocess.CompletedProcess[str]:
    """`lgcp-listener run` with only these LGCP_LISTENER_* variables (and a key that must not leak)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LGCP_LISTENER_API_URL": "http://127.0.0.1:9",
        "LGCP_LISTENER_API_KEY": "lgcp_key_that_must_not_leak",
        "LGCP_LISTENER_COMPUTE_ID": "c1",
        **{f"LGCP_LISTENER_{name}": value for name, value in variables.items()},
    }
    return subprocess.run([str(VENV_BIN / "lgcp-listener"), "run"], env=env, capture_output=True, text=True, timeout=60)


def test_invalid_configuration_names_the_variables_without_their_values() -> None:
    result = run(DATABASE_MODE="bogus")
    assert result.returncode == 2
    assert "LGCP_LISTENER_DATABASE_MODE:" in result.stderr
    assert "LGCP_LISTENER_NAMESPACES:" in result.stderr
    assert "lgcp_key_that_must_not_leak" not in result.stderr + result.stdout


def test_a_bad_dedicated_mode_setting_is_named_without_echoing_values() -> None:
    result = run(
        NAMESPACES="agents",
        DATABASE_MODE="dedicated",
        DEDICATED_POSTGRES_RESOURCES='{"requests": {"memory": "lgcp_value_that_must_not_leak"}}',
    )
    assert result.returncode == 2
    assert "LGCP_LISTENER_DEDICATED_POSTGRES_RESOURCES:" in result.stderr
    assert "must_not_leak" not in result.stderr + result.stdout
