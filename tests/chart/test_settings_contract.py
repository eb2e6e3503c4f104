"""The environment the chart gives each container is accepted by the real settings classes of
`lgcp-api` and `lgcp-listener`, for every values/*.yaml: the chart and the services agree on
variable names and formats (docs/interfaces.md), not only on paper."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from chart_commands import CHART, ENVIRONMENTS, VALUES_DIR, render
from cryptography.fernet import Fernet

FERNET_KEY = Fernet.generate_key().decode()


def secret_value(key: str) -> str:
    """A plausible value for a Secret key the chart reads (what an operator would store)."""
    return {
        "encryption-keys": FERNET_KEY,
        "database-url": "postgresql://lgcp:pw@db.example.internal:5432/lgcp",
        "admin-url": "postgresql://lgcp_admin:pw@db.example.internal:5432/lgcp_listener",
        "url": "redis://:pw@redis.example.internal:6379/0",
        "agent-url": "redis://:pw@redis.example.internal:6379",
        "database-uri-template": "postgresql://{name}:pw@db.example.internal:5432/{name}",
    }.get(key, f"{key}-" + "x" * 40)


def container_env(container: dict, pod_name: str) -> dict[str, str]:
    """The container's environment as Kubernetes would build it, `$(VAR)` expansion included."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"])
        elif "secretKeyRef" in item.get("valueFrom", {}):
            value = secret_value(item["valueFrom"]["secretKeyRef"]["key"])
        else:
            value = pod_name  # the downward API's metadata.name
        env[item["name"]] = value
    return env


def containers(environment: str, component: str) -> list[dict]:
    documents = render("helm", "-f", str(VALUES_DIR / f"{environment}.yaml"))
    found = [
        c
        for d in documents
        if d["kind"] in ("Deployment", "Job") and d["metadata"]["labels"]["app.kubernetes.io/component"] == component
        for c in d["spec"]["template"]["spec"].get("initContainers", []) + d["spec"]["template"]["spec"]["containers"]
    ]
    assert found, f"no {component} containers in {environment}"
    return found


# values/dataplane.yaml installs no API (api.enabled=false): only its listener is checked.
CONTROL_PLANES = [e for e in ENVIRONMENTS if e != "dataplane"]


@pytest.mark.parametrize("environment", CONTROL_PLANES)
@pytest.mark.parametrize("component", ["api", "migrate"])
def test_api_settings_accept_the_chart_environment(environment: str, component: str, monkeypatch) -> None:
    from lgcp_api.core.settings import Settings

    for container in containers(environment, component):
        env = container_env(container, "pod-0")
        assert not any("$(" in value for value in env.values()), env
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings()
        assert settings.database_dsn.startswith("postgresql://")
        assert settings.secret_key is not None and settings.encryption_key_list == [FERNET_KEY]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_listener_settings_accept_the_chart_environment(environment: str, monkeypatch) -> None:
    from lgcp_listener.settings import Settings

    (container,) = containers(environment, "listener")
    env = container_env(container, "lgcp-listener-abc")
    assert not any("$(" in value for value in env.values()), env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.api_url.endswith("/api-host")
    assert settings.pod_name == "lgcp-listener-abc"
    assert settings.database_mode == "shared" and settings.agent_redis_url is not None
    assert settings.leader_election is True
    # A data plane reaches the control plane only over HTTP: woken by the long poll, no Redis.
    if environment == "dataplane":
        assert (settings.wakeup_source, settings.redis_url) == ("http", None)
    else:
        assert settings.wakeup_source == "redis" and settings.redis_url is not None


def test_listener_settings_accept_the_chart_environment_in_dedicated_mode(monkeypatch) -> None:
    from lgcp_listener.settings import Settings

    documents = render(
        "helm",
        "-f",
        str(VALUES_DIR / "prod.yaml"),
        "--set",
        "listener.database.mode=dedicated",
        "--set",
        "listener.database.dedicated.postgres.storage.storageClass=fast-ssd",
        "--set",
        "listener.database.dedicated.postgres.resources.requests.cpu=0.5",
        "--set",
        "listener.database.dedicated.imagePullSecrets={mirror-pull}",
    )
    (container,) = [
        c
        for d in documents
        if d["kind"] == "Deployment" and d["metadata"]["labels"]["app.kubernetes.io/component"] == "listener"
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    for name, value in container_env(container, "lgcp-listener-abc").items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.database_mode == "dedicated"
    assert settings.dedicated_postgres_storage_class == "fast-ssd" and settings.dedicated_image_pull_secrets == [
        "mirror-pull"
    ]
    assert settings.dedicated_postgres_resources["requests"]["cpu"] == "0.5"


def test_dedicated_databases_default_to_the_subcharts_images_in_the_chart_and_the_listener() -> None:
    import yaml
    from lgcp_listener.settings import Settings

    chart = yaml.safe_load((CHART / "values.yaml").read_text())["listener"]["database"]["dedicated"]
    for store, field in (("postgres", "dedicated_postgres_image"), ("redis", "dedicated_redis_image")):
        subchart = yaml.safe_load((CHART / "charts" / store / "values.yaml").read_text())
        image = f"{subchart['image']['repository']}:{subchart['image']['tag']}"
        assert f"{chart[store]['image']['repository']}:{chart[store]['image']['tag']}" == image, store
        assert Settings.model_fields[field].default == image, store
        assert chart[store]["resources"] == subchart["resources"], store
        assert Settings.model_fields[f"dedicated_{store}_resources"].default_factory() == subchart["resources"], store
    assert Settings.model_fields["dedicated_postgres_storage_size"].default == chart["postgres"]["storage"]["size"]


# Every character a URL gives a meaning to (issue 14 defect 7: such a password broke the services).
AWKWARD_PASSWORD = "p@ss/w:rd%41?#&=+ x"


async def test_passwords_with_url_characters_connect_the_api_and_the_listener(postgres_server, monkeypatch) -> None:
    """The chart passes the bundled stores' passwords apart from their URLs and the services
    percent-encode them: both connect with a password full of `@ / : % ? #`."""
    import asyncpg
    import redis.asyncio as aioredis
    from harness.redis import start_redis
    from lgcp_api.core.migrate import apply_migrations
    from lgcp_api.core.settings import Settings as ApiSettings
    from lgcp_listener.settings import Settings as ListenerSettings

    suffix = uuid.uuid4().hex[:8]
    user, admin, database = f"lgcp_{suffix}", f"lgcp_admin_{suffix}", f"lgcp_{suffix}"
    setup = await asyncpg.connect(postgres_server.dsn("postgres"))
    try:
        for role in (user, admin):
            await setup.execute(f"CREATE ROLE {role} LOGIN CREATEDB CREATEROLE PASSWORD '{AWKWARD_PASSWORD}'")
        await setup.execute(f"CREATE DATABASE {database} OWNER {user}")
    finally:
        await setup.close()
    redis = await asyncio.to_thread(start_redis)  # a server of this test's own: its password changes
    first = aioredis.Redis.from_url(redis.url())
    await first.config_set("requirepass", AWKWARD_PASSWORD)
    await first.aclose()
    where = {"postgres": f"127.0.0.1:{postgres_server.port}", "redis": f"127.0.0.1:{redis.port}"}

    def local(value: str) -> str:  # the in-cluster Service names, pointed at the local servers
        value = re.sub(r"@[\w.-]+-postgres\.[\w-]+\.svc:\d+", "@" + where["postgres"], value)
        value = re.sub(r"//[\w.-]+-postgres\.[\w-]+\.svc:\d+", "//" + where["postgres"], value)
        return re.sub(r"(//|@)[\w.-]+-redis\.[\w-]+\.svc:\d+", lambda m: m.group(1) + where["redis"], value)

    sets = [
        "--set",
        f"postgres.auth.username={user}",
        "--set",
        f"postgres.auth.database={database}",
        "--set",
        f"postgres.auth.adminUsername={admin}",
        "--set",
        f"postgres.auth.adminDatabase={database}",
    ]
    documents = render("helm", "-f", str(VALUES_DIR / "dev.yaml"), *sets)
    try:
        for component in ("api", "listener"):
            deployment = next(
                d
                for d in documents
                if d["kind"] == "Deployment" and d["metadata"]["labels"]["app.kubernetes.io/component"] == component
            )
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            env = {}
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None and ref["key"] in ("password", "admin-password"):
                    env[item["name"]] = AWKWARD_PASSWORD
            env.update({k: local(v) for k, v in container_env(container, "pod-0").items() if k not in env})
            assert not any(AWKWARD_PASSWORD in v for k, v in env.items() if k.endswith("_URL")), "a password in a URL"
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            if component == "api":
                api = ApiSettings()
                await asyncio.to_thread(apply_migrations, api.database_dsn)
                conn = await asyncpg.connect(api.database_dsn)
                assert await conn.fetchval("SELECT current_user") == user
                await conn.close()
                assert api.redis_dsn is not None
                client = aioredis.Redis.from_url(api.redis_dsn)
                assert await client.ping()
                await client.aclose()
            else:
                listener = ListenerSettings()
                assert listener.postgres_admin_url is not None and listener.agent_redis_url is not None
                conn = await asyncpg.connect(listener.postgres_admin_url.get_secret_value())
                assert await conn.fetchval("SELECT current_user") == admin
                await conn.close()
                for url in (listener.agent_redis_url, listener.redis_url):
                    assert url is not None
                    client = aioredis.Redis.from_url(url.get_secret_value())
                    assert await client.ping()
                    await client.aclose()
            for name in env:
                monkeypatch.delenv(name)
    finally:
        redis.stop()
