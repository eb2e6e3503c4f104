"""`lgcp-listener run`: the listener's command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from pydantic import ValidationError

from .app import Listener
from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs the listener; exits 1 when leadership is lost."""
    parser = argparse.ArgumentParser(prog="lgcp-listener", description="langgraph-controlplane data-plane listener")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="reconcile deployments until stopped (configured by LGCP_LISTENER_* variables)")
    parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        # Name the variable and the reason only: pydantic's own message repeats the input values,
        # which include the API key and database passwords.
        for error in exc.errors():
            field = "_".join(str(part) for part in error["loc"]).upper()
            where = f"LGCP_LISTENER_{field}: " if field else ""
            print(f"lgcp-listener: invalid configuration: {where}{error['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One line per API request is noise at INFO; failures are logged by the listener itself.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    try:
        return asyncio.run(_run(settings))
    except KeyboardInterrupt:
        return 0


async def _run(settings: Settings) -> int:
    # SIGTERM (pod deletion) cancels the run, so its cleanup releases the lease at once.
    task = asyncio.current_task()
    assert task is not None  # run by asyncio.run
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await Listener(settings).run()
    except asyncio.CancelledError:
        return 0
    # run() returns only when the lease was lost: exit so that the pod restarts as a standby.
    return 1


if __name__ == "__main__":
    sys.exit(main())
