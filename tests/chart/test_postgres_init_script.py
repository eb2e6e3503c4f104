"""The postgres subchart's init script, run by psql against a real PostgreSQL: it creates the
control plane's role and database, and an admin role that can do what the listener does for
agents (create a role and a database owned by it) without being a superuser."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid

import asyncpg
import pytest
from chart_commands import render


def init_script() -> str:
    documents = render("helm", "--set", "langsmith.hostname=langsmith.example.com")
    configmap = next(
        d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-postgres-init")
    )
    return configmap["data"]["10-roles.sh"]


async def test_init_script_creates_the_roles_and_databases(postgres_server) -> None:
    suffix = uuid.uuid4().hex[:8]
    names = {
        "APP_USERNAME": f"lgcp_{suffix}",
        "APP_DATABASE": f"lgcp_{suffix}",
        "ADMIN_USERNAME": f"lgcp_admin_{suffix}",
        "ADMIN_DATABASE": f"lgcp_listener_{suffix}",
    }
    passwords = {"APP_PASSWORD": uuid.uuid4().hex, "ADMIN_PASSWORD": uuid.uuid4().hex}
    script = init_script()
    assert "--username postgres" in script
    # The image runs it as its `postgres` superuser over the local socket; here, as the test
    # server's superuser over TCP.
    script = script.replace("--username postgres", f"--username {postgres_server.user}")
    env = {
        **os.environ,
        **names,
        **passwords,
        "PGHOST": postgres_server.host,
        "PGPORT": str(postgres_server.port),
        "PGPASSWORD": postgres_server.password,
    }
    proc = await asyncio.to_thread(
        subprocess.run, ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr

    base = f"postgresql://{{}}:{{}}@{postgres_server.host}:{postgres_server.port}/{{}}"
    app = await asyncpg.connect(base.format(names["APP_USERNAME"], passwords["APP_PASSWORD"], names["APP_DATABASE"]))
    try:
        owner = await app.fetchval("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert owner == names["APP_USERNAME"]
        await app.execute("CREATE TABLE probe (id int)")  # owns its database: can migrate
    finally:
        await app.close()

    admin = await asyncpg.connect(
        base.format(names["ADMIN_USERNAME"], passwords["ADMIN_PASSWORD"], names["ADMIN_DATABASE"])
    )
    agent = f"lgcp_agent_{suffix}"
    try:
        flags = await admin.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        assert tuple(flags) == (False, True, True)
        if admin.get_server_version().major >= 16:
            assert await admin.fetchval("SHOW createrole_self_grant") == "set, inherit"
        await admin.execute("CREATE TABLE bookkeeping (id int)")  # the listener's table lives here
        await admin.execute(f"CREATE ROLE {agent} LOGIN PASSWORD 'x'")
        if admin.get_server_version().major < 16:
            # What the script's createrole_self_grant does on 16+ (the chart's image); the
            # setting does not exist before 16, where a CREATEROLE role may grant it itself.
            await admin.execute(f"GRANT {agent} TO CURRENT_USER")
        await admin.execute(f"CREATE DATABASE {agent} OWNER {agent}")
        # An agent's role reaches its own database and neither of the control plane's.
        (await asyncpg.connect(base.format(agent, "x", agent))).terminate()
        for database in (names["APP_DATABASE"], names["ADMIN_DATABASE"]):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
                await asyncpg.connect(base.format(agent, "x", database))
        await admin.execute(f"DROP DATABASE {agent}")
        await admin.execute(f"DROP ROLE {agent}")
    finally:
        await admin.close()

    superuser = await asyncpg.connect(postgres_server.dsn())
    try:
        for database in (names["APP_DATABASE"], names["ADMIN_DATABASE"]):
            await superuser.execute(f"DROP DATABASE {database}")
        for role in (names["APP_USERNAME"], names["ADMIN_USERNAME"]):
            await superuser.execute(f"DROP ROLE {role}")
    finally:
        await superuser.close()
