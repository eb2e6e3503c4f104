"""`make demo-down` stops a `make demo` still running, and only that very process (issue 14,
defect 10): a pid remembered in `.cache/demo/demo.pid` may since have been reused by someone
else's process, which must never be signalled."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lgcp_local_stack import demo


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process that is not `make demo`, as a reused pid would be."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _record(state: Path, pid: int, start: str | None) -> None:
    (state / "demo.pid").write_text(json.dumps({"pid": pid, "start": start}))


def test_a_reused_pid_is_left_alone(tmp_path: Path, bystander: subprocess.Popen[bytes]) -> None:
    start = demo._process_start_time(bystander.pid)
    assert start is not None
    # The pid as `make demo` recorded it, started at another moment than the process now there.
    _record(tmp_path, bystander.pid, str(int(start) - 1))
    demo._stop_running_up(tmp_path)
    with pytest.raises(subprocess.TimeoutExpired):  # still running a second later: never signalled
        bystander.wait(timeout=1)
    assert not (tmp_path / "demo.pid").exists()


def test_a_record_without_start_time_signals_nothing(tmp_path: Path, bystander: subprocess.Popen[bytes]) -> None:
    _record(tmp_path, bystander.pid, None)
    demo._stop_running_up(tmp_path)
    with pytest.raises(subprocess.TimeoutExpired):
        bystander.wait(timeout=1)
    assert not (tmp_path / "demo.pid").exists()


def test_the_running_demo_itself_is_stopped(tmp_path: Path, bystander: subprocess.Popen[bytes]) -> None:
    _record(tmp_path, bystander.pid, demo._process_start_time(bystander.pid))
    demo._stop_running_up(tmp_path)
    assert bystander.wait(timeout=10) == -15  # SIGTERM, not SIGKILL of a process group
    assert not (tmp_path / "demo.pid").exists()
