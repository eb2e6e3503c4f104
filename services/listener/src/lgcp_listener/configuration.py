"""What each part of the listener is configured with: plain frozen data, and its defaults.

`settings.Settings` reads the `LGCP_LISTENER_*` variables and offers them grouped as these
(`Settings.route`, `.databases`, ...); the layers below take them as they are. Nothing here does
anything, so every layer may import it, settings included.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

from .objects import Manifest

RoutingMode = Literal["ingress", "gateway"]
DatabaseModeName = Literal["shared", "dedicated", "external"]
Retention = Literal["delete", "retain"]

# Dedicated mode's defaults: the chart's own subcharts' images, and room for a small agent.
POSTGRES_IMAGE = "postgres:16.4"
REDIS_IMAGE = "redis:7.4"
POSTGRES_STORAGE_SIZE = "8Gi"
POSTGRES_RESOURCES: Manifest = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
REDIS_RESOURCES: Manifest = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}


@dataclass(frozen=True)
class RouteConfig:
    """How agents are exposed on the LangSmith host."""

    hostname: str
    base_path: str = ""
    mode: RoutingMode = "ingress"
    ingress_class_name: str | None = None
    tls_secret_name: str | None = None
    gateway_name: str | None = None
    gateway_namespace: str | None = None

    @property
    def kind(self) -> str:
        """The kind of each agent's route object."""
        return "HTTPRoute" if self.mode == "gateway" else "Ingress"


@dataclass(frozen=True)
class PlatformEnv:
    """Environment the platform gives every agent (values from the chart; never log them)."""

    langsmith_endpoint: str | None = None
    langsmith_api_key: str | None = field(default=None, repr=False)
    license_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SharedDatabasesConfig:
    """`shared` mode: the data-plane Postgres and Redis every agent gets a part of."""

    admin_url: str = field(repr=False)
    agent_host: str
    agent_port: int
    agent_redis_url: str = field(repr=False)
    redis_databases: int = 16
    # False: agents get the credentials of agent_redis_url itself (a Redis that refuses ACL SETUSER).
    redis_acl: bool = True
    spare_databases: int = 0


@dataclass(frozen=True)
class ExternalDatabasesConfig:
    """`external` mode: URI templates with `{name}`, `{deployment_id}` and `{database}`."""

    database_uri_template: str = field(repr=False)
    redis_uri_template: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DedicatedConfig:
    """`dedicated` mode: what every agent's own Postgres and Redis are made of."""

    postgres_image: str = POSTGRES_IMAGE
    redis_image: str = REDIS_IMAGE
    postgres_storage_size: str = POSTGRES_STORAGE_SIZE
    postgres_storage_class: str | None = None
    postgres_resources: Manifest = field(default_factory=lambda: copy.deepcopy(POSTGRES_RESOURCES))
    redis_resources: Manifest = field(default_factory=lambda: copy.deepcopy(REDIS_RESOURCES))
    image_pull_secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabasesConfig:
    """Which database mode runs, what it is made of, and what an API deletion does to the data."""

    mode: DatabaseModeName
    retention: Retention = "delete"
    shared: SharedDatabasesConfig | None = None
    external: ExternalDatabasesConfig | None = None
    dedicated: DedicatedConfig | None = None


@dataclass(frozen=True)
class LeaseConfig:
    """Leader election: the Lease and who campaigns for it."""

    namespace: str
    name: str
    identity: str
    duration_seconds: float = 15


@dataclass(frozen=True)
class ControlPlaneConfig:
    """Where the control plane's listener API is, and the key it takes (never log it)."""

    api_url: str
    api_key: str = field(repr=False)
    tenant_id: str | None = None
    # The notification stream's Redis (None: changes wait for the periodic resync).
    redis_url: str | None = field(default=None, repr=False)
    resync_seconds: float = 30
    # `redis`: read redis_url's stream; `http`: long-poll the API (control_plane/http_wakeups.py).
    wakeup_source: str = "redis"
