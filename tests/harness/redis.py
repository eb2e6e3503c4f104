"""A throwaway Redis server on a free port, with a password and no persistence."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis

from . import processes


@dataclass
class RedisServer:
    host: str
    port: int
    password: str
    folder: Path
    proc: subprocess.Popen

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/{db}"

    def stop(self) -> None:
        processes.stop(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis(port: int | None = None, password: str | None = None, databases: int = 64) -> RedisServer:
    """redis-server on 127.0.0.1; pass the old port and password to restart one in place."""
    folder = Path(tempfile.mkdtemp(prefix="lgcp-redis-"))
    log = folder / "redis.log"
    port = port or processes.free_port()
    password = password or uuid.uuid4().hex
    proc = processes.start(
        [
            processes.find_binary("redis-server"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--databases",
            str(databases),
        ],
        log,
    )
    server = RedisServer("127.0.0.1", port, password, folder, proc)
    processes.wait_until(
        lambda: redis.Redis.from_url(server.url(), socket_timeout=1).ping(), "Redis", proc=proc, log=log
    )
    return server
