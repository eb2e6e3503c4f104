"""The redis subchart's container command and probe, run with the real redis-server: password
auth on, the agents' logical databases, append-only persistence in /data, probe green only
with the password."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import redis
from chart_commands import render
from harness import processes


def redis_container() -> dict:
    documents = render("helm", "--set", "langsmith.hostname=langsmith.example.com", "--set", "redis.databases=48")
    sts = next(d for d in documents if d["kind"] == "StatefulSet" and d["metadata"]["name"].endswith("-redis"))
    return sts["spec"]["template"]["spec"]["containers"][0]


def test_redis_runs_with_auth_and_the_agents_databases(tmp_path: Path) -> None:
    container = redis_container()
    port = processes.free_port()
    command = [
        part.replace("--port 6379", f"--port {port}").replace("--dir /data", f"--dir {tmp_path}")
        for part in container["command"]
    ]
    password = uuid.uuid4().hex
    assert [e["name"] for e in container["env"]] == ["REDISCLI_AUTH"]
    env = {**os.environ, "REDISCLI_AUTH": password}
    proc = processes.start(command, tmp_path / "redis.log", env=env)
    try:
        client = redis.Redis(port=port, password=password)
        processes.wait_until(client.ping, "redis-server", proc=proc, log=tmp_path / "redis.log")
        assert client.config_get("databases") == {"databases": "48"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.select(47)
        client.set("k", "v")
        try:
            redis.Redis(port=port).ping()
            raise AssertionError("redis answered without a password")
        except redis.AuthenticationError:
            pass

        probe = container["readinessProbe"]["exec"]["command"]
        probe = [part.replace("redis-cli -h 127.0.0.1", f"redis-cli -h 127.0.0.1 -p {port}") for part in probe]
        assert subprocess.run(probe, env=env, timeout=10).returncode == 0
        wrong = {**env, "REDISCLI_AUTH": "wrong"}
        assert subprocess.run(probe, env=wrong, timeout=10, capture_output=True).returncode != 0
    finally:
        processes.stop(proc)
