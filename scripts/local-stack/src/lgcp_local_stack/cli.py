"""Command line of `make demo` (`up`) and `make demo-down` (`down`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .demo import DemoConfig, down, up
from .release import ReleaseConfig


def main(argv: list[str] | None = None) -> int:
    defaults = DemoConfig()
    parser = argparse.ArgumentParser(prog="lgcp-local-stack", description="the whole product on the local node")
    parser.add_argument("command", choices=["up", "down"], help="up: make demo; down: make demo-down")
    parser.add_argument("--state", type=Path, default=defaults.state, help="what up did, for down (.cache/demo)")
    parser.add_argument("--namespace", default=defaults.release.namespace, help="the release's namespace (lgcp)")
    parser.add_argument(
        "--base-path",
        default=defaults.release.base_path,
        help="the release's path on the LangSmith host (/); a release beside the demo needs its own",
    )
    args = parser.parse_args(argv)
    config = DemoConfig(
        state=args.state.resolve(), release=ReleaseConfig(namespace=args.namespace, base_path=args.base_path)
    )
    return up(config) if args.command == "up" else down(config)


if __name__ == "__main__":
    sys.exit(main())
