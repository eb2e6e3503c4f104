"""`lgcp-api migrate` and `lgcp-api serve`."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from .core.settings import Settings
from .observability import json_logs

log = logging.getLogger("lgcp_api")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # Name the variable and the reason only: never echo a value (it may be a secret).
        for error in exc.errors():
            field = "_".join(str(p) for p in error["loc"]).upper()
            where = f"LGCP_{field}: " if field else ""
            print(f"lgcp-api: configuration error: {where}{error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


# How long an idle connection stays open: longer than any client's own idle time (httpx, which
# the listener uses, keeps one 5 s; proxies in front up to 60 s), so a client never reuses a
# connection at the moment the server closes it (a ReadError on an idempotent read, issue 14).
KEEP_ALIVE_SECONDS = 75


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `lgcp-api` console script."""
    parser = argparse.ArgumentParser(prog="lgcp-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply schema migrations (idempotent, safe concurrently)")
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    # Loopback unless told otherwise: the image, the chart and the local stack pass --host.
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)

    settings = _settings()
    json_logs.configure(settings.log_level)
    if args.command == "migrate":
        from .core.migrate import apply_migrations

        applied = apply_migrations(settings.database_dsn)
        log.info("migrations done", extra={"applied": applied})
        return

    import uvicorn

    from .app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="*",
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
