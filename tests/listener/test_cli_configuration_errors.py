"""`lgcp-listener run` with a bad configuration names what is wrong and never echoes a secret."""

from __future__ import annotations

import subprocess
from pathlib import Path

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def test_invalid_configuration_names_the_variables_without_their_values() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "LGCP_LISTENER_API_URL": "http://127.0.0.1:9",
        "LGCP_LISTENER_API_KEY": "lgcp_key_that_must_not_leak",
        "LGCP_LISTENER_COMPUTE_ID": "c1",
        "LGCP_LISTENER_DATABASE_MODE": "bogus",
    }
    result = subprocess.run([str(VENV_BIN / "lgcp-listener"), "run"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "LGCP_LISTENER_DATABASE_MODE:" in result.stderr
    assert "LGCP_LISTENER_NAMESPACES:" in result.stderr
    assert "lgcp_key_that_must_not_leak" not in result.stderr + result.stdout
