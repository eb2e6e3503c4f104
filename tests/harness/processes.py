"""Child processes that cannot outlive the test run."""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child after any uid change (which would clear the setting): the kernel sends
    # SIGTERM when pytest dies, even on SIGKILL, so no server is left behind.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(name: str, fallback_globs: tuple[str, ...] = ()) -> str:
    """The path of a server binary, from PATH or the newest match of `fallback_globs`."""
    found = shutil.which(name)
    if found:
        return found
    for pattern in fallback_globs:
        matches = sorted(glob.glob(pattern), reverse=True)
        if matches:
            return matches[0]
    raise RuntimeError(f"{name} not found: run `make setup` to install it")


def unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root; when we are root, run it as this user instead."""
    return "postgres" if os.geteuid() == 0 else None


def start(args: list[str], log: Path, user: str | None = None, env: dict | None = None) -> subprocess.Popen:
    """Starts a server in its own process group, logging to `log`, tied to our lifetime."""
    # The child keeps its own copy of the descriptor; ours closes once it has started.
    with open(log, "ab") as out:
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            user=user,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stops a server and its process group, escalating to SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def wait_until(check, what: str, timeout: float = 30, proc: subprocess.Popen | None = None, log: Path | None = None):
    """Polls `check()` until it returns a truthy value; fails naming `what` and the log's tail."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the server is still starting
            last_error = exc
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not become ready (last error: {last_error})\n{tail}")
