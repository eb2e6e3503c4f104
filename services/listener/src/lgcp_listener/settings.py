"""The listener's configuration: environment variables with the prefix `LGCP_LISTENER_`.

The variables are flat (the chart sets them by these names: tests/chart/test_settings_contract.py
checks the agreement); `Settings` offers them grouped by concern as the plain configuration of
`configuration.py` (`.control_plane`, `.route`, `.platform`, `.databases`, `.lease`), so the
wiring hands each part its group. Nothing here imports the listener's domain code.
"""

from __future__ import annotations

import copy
import json
import re
import socket
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from . import configuration as c

_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*[a-zA-Z0-9_]", re.I)
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_FACTORS: dict[str | None, Decimal | int] = {
    None: 1,
    "m": Decimal("0.001"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")


def quantity(value: str) -> Decimal:
    """A Kubernetes quantity (`100m`, `1.5Gi`, `2`) as a number; ValueError if it is not one."""
    match = _QUANTITY.fullmatch(value)
    if not match:
        raise ValueError("not a Kubernetes quantity (e.g. 100m, 512Mi, 8Gi)")
    return Decimal(match.group(1)) * _FACTORS[match.group(2)]


def _container_resources(value: object) -> dict[str, Any]:
    """`{"requests": {...}, "limits": {...}}` given as JSON; each limit at least its request."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(
                'must be JSON like {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}'
            ) from None
    if not isinstance(value, dict) or not set(value) <= {"requests", "limits"}:
        raise ValueError('must be an object with "requests" and/or "limits"')
    for part in value.values():
        if not isinstance(part, dict) or not set(part) <= set(_RESOURCE_NAMES):
            raise ValueError(f"requests and limits may only name {', '.join(_RESOURCE_NAMES)}")
        for name, amount in part.items():
            if isinstance(amount, (int, float)) and not isinstance(amount, bool):
                part[name] = amount = format(Decimal(str(amount)), "f")  # JSON numbers, as Kubernetes takes them
            if not isinstance(amount, str) or quantity(amount) <= 0:
                raise ValueError("every amount must be a positive Kubernetes quantity")
    for name, limit in (value.get("limits") or {}).items():
        request = (value.get("requests") or {}).get(name)
        if request is not None and quantity(request) > quantity(limit):
            raise ValueError(f"the {name} request is above its limit")
    return value


class Settings(BaseSettings):
    """Everything `lgcp-listener run` reads; see services/listener/README.md for each field."""

    model_config = SettingsConfigDict(env_prefix="LGCP_LISTENER_", extra="ignore")

    api_url: str
    api_key: SecretStr
    tenant_id: str | None = None
    compute_id: str
    namespaces: Annotated[list[str], NoDecode] = Field(min_length=1)
    default_namespace: str | None = None

    redis_url: SecretStr | None = None
    # How changes wake the listener: `redis` reads the stream in redis_url (the control plane's own
    # cluster); `http` long-polls the API for it (another cluster: only HTTPS to the API).
    wakeup_source: Literal["redis", "http"] = "redis"
    # Passwords given apart from their URLs (the chart does): put into the URL percent-encoded,
    # so any character works (a password with @ / : % breaks a URL it is pasted into).
    redis_password: SecretStr | None = None
    postgres_admin_password: SecretStr | None = None
    agent_redis_password: SecretStr | None = None

    database_mode: c.DatabaseModeName = "shared"
    database_retention: c.Retention = "delete"
    postgres_admin_url: SecretStr | None = None
    agent_postgres_host: str | None = None
    agent_postgres_port: int = 5432
    agent_redis_url: SecretStr | None = None
    agent_redis_databases: int = Field(default=16, ge=2)
    # Shared mode: each agent gets a Redis ACL user limited to its database number (databases/shared/).
    agent_redis_acl: bool = True
    spare_databases: int = Field(default=3, ge=0, le=50)
    external_database_uri_template: SecretStr | None = None
    external_redis_uri_template: SecretStr | None = None
    dedicated_postgres_image: str = c.POSTGRES_IMAGE
    dedicated_redis_image: str = c.REDIS_IMAGE
    dedicated_postgres_storage_size: str = c.POSTGRES_STORAGE_SIZE
    dedicated_postgres_storage_class: str | None = None
    dedicated_postgres_resources: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=lambda: copy.deepcopy(c.POSTGRES_RESOURCES)
    )
    dedicated_redis_resources: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=lambda: copy.deepcopy(c.REDIS_RESOURCES)
    )
    dedicated_image_pull_secrets: Annotated[list[str], NoDecode] = Field(default_factory=list)

    langsmith_hostname: str = "langsmith.local"
    base_path: str = ""
    routing_mode: c.RoutingMode = "ingress"
    ingress_class_name: str | None = None
    tls_secret_name: str | None = None
    gateway_name: str | None = None
    gateway_namespace: str | None = None
    langsmith_endpoint: str | None = None
    langsmith_api_key: SecretStr | None = None
    license_key: SecretStr | None = None

    resync_seconds: float = Field(default=30, gt=0)
    workers: int = Field(default=8, ge=1)
    # How often the agents' metrics are gathered and shipped (lgcp_listener.metrics); 0 turns it off.
    metrics_interval_seconds: float = Field(default=20, ge=0, le=300)
    kubeconfig: str | None = None
    leader_election: bool = True
    lease_name: str = "lgcp-listener"
    lease_namespace: str | None = None
    lease_duration_seconds: float = Field(default=15, gt=0)
    pod_name: str = Field(default_factory=socket.gethostname)
    health_port: int = 8081
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("dedicated_image_pull_secrets", mode="before")
    @classmethod
    def _split_pull_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("dedicated_image_pull_secrets")
    @classmethod
    def _secret_names(cls, value: list[str]) -> list[str]:
        if not all(_DNS_SUBDOMAIN.fullmatch(name) for name in value):
            raise ValueError("must be comma-separated Secret names (lowercase DNS subdomains)")
        return value

    @field_validator("dedicated_postgres_image", "dedicated_redis_image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE.fullmatch(value):
            raise ValueError("must be an image reference such as postgres:16.4 or registry.example.com/redis:7.4")
        return value

    @field_validator("dedicated_postgres_storage_size")
    @classmethod
    def _storage_size(cls, value: str) -> str:
        if value.endswith("m") or quantity(value) <= 0:
            raise ValueError("must be a positive size such as 8Gi")
        return value

    @field_validator("dedicated_postgres_storage_class", mode="before")
    @classmethod
    def _storage_class(cls, value: object) -> object:
        if value == "":
            return None  # empty: the cluster's default StorageClass
        if isinstance(value, str) and not _DNS_SUBDOMAIN.fullmatch(value):
            raise ValueError("must be a StorageClass name (a lowercase DNS subdomain), or empty for the default")
        return value

    @field_validator("dedicated_postgres_resources", "dedicated_redis_resources", mode="before")
    @classmethod
    def _resources(cls, value: object) -> object:
        return _container_resources(value)

    @field_validator("compute_id")
    @classmethod
    def _label_value(cls, value: str) -> str:
        # It is the value of the lgcp.dev/listener label that selects what this listener owns.
        if not _LABEL_VALUE.fullmatch(value):
            raise ValueError(
                "must be a Kubernetes label value: at most 63 characters, alphanumerics, "
                "'-', '_' or '.', starting and ending with an alphanumeric"
            )
        return value

    @field_validator("namespaces")
    @classmethod
    def _namespace_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _DNS_LABEL.fullmatch(name)]
        if bad:
            raise ValueError(f"not valid namespace names (DNS labels): {', '.join(bad)}")
        return value

    @field_validator("base_path")
    @classmethod
    def _normalise_base_path(cls, value: str) -> str:
        return "/" + value.strip("/") if value.strip("/") else ""

    @model_validator(mode="after")
    def _insert_passwords(self) -> Settings:
        for url_name in ("redis_url", "postgres_admin_url", "agent_redis_url"):
            password: SecretStr | None = getattr(self, url_name.replace("_url", "_password"))
            if password is None:
                continue
            url: SecretStr | None = getattr(self, url_name)
            if url is None:
                raise ValueError(f"{url_name.replace('_url', '_password')} needs {url_name}")
            setattr(self, url_name, SecretStr(url_with_password(url.get_secret_value(), password.get_secret_value())))
        return self

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.default_namespace is None:
            self.default_namespace = self.namespaces[0]
        if self.default_namespace not in self.namespaces:
            raise ValueError("default_namespace must be one of namespaces")
        if self.lease_namespace is None:
            self.lease_namespace = self.default_namespace
        if self.database_mode == "shared":
            missing = [
                name
                for name in ("postgres_admin_url", "agent_postgres_host", "agent_redis_url")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"database_mode=shared needs {', '.join(missing)}")
        if self.database_mode == "external":
            # LangGraph servers need both: an agent without REDIS_URI would only crash-loop.
            missing = [
                name
                for name in ("external_database_uri_template", "external_redis_uri_template")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"database_mode=external needs {', '.join(missing)}")
        if self.routing_mode == "gateway" and not self.gateway_name:
            raise ValueError("routing_mode=gateway needs gateway_name")
        return self

    # --- grouped by concern (what each part of the listener is configured with) ---------------

    @property
    def control_plane(self) -> c.ControlPlaneConfig:
        return c.ControlPlaneConfig(
            self.api_url,
            self.api_key.get_secret_value(),
            self.tenant_id,
            _secret(self.redis_url),
            self.resync_seconds,
            self.wakeup_source,
        )

    @property
    def route(self) -> c.RouteConfig:
        return c.RouteConfig(
            self.langsmith_hostname,
            self.base_path,
            self.routing_mode,
            self.ingress_class_name,
            self.tls_secret_name,
            self.gateway_name,
            self.gateway_namespace,
        )

    @property
    def platform(self) -> c.PlatformEnv:
        return c.PlatformEnv(self.langsmith_endpoint, _secret(self.langsmith_api_key), _secret(self.license_key))

    @property
    def databases(self) -> c.DatabasesConfig:
        """The database mode's configuration: only the chosen mode's part is set."""
        shared = external = dedicated = None
        if self.database_mode == "shared":
            assert self.postgres_admin_url and self.agent_postgres_host and self.agent_redis_url  # _check_consistency
            shared = c.SharedDatabasesConfig(
                self.postgres_admin_url.get_secret_value(),
                self.agent_postgres_host,
                self.agent_postgres_port,
                self.agent_redis_url.get_secret_value(),
                self.agent_redis_databases,
                self.agent_redis_acl,
                self.spare_databases,
            )
        elif self.database_mode == "external":
            assert self.external_database_uri_template  # _check_consistency
            external = c.ExternalDatabasesConfig(
                self.external_database_uri_template.get_secret_value(), _secret(self.external_redis_uri_template)
            )
        else:
            dedicated = c.DedicatedConfig(
                self.dedicated_postgres_image,
                self.dedicated_redis_image,
                self.dedicated_postgres_storage_size,
                self.dedicated_postgres_storage_class,
                self.dedicated_postgres_resources,
                self.dedicated_redis_resources,
                tuple(self.dedicated_image_pull_secrets),
            )
        return c.DatabasesConfig(self.database_mode, self.database_retention, shared, external, dedicated)

    @property
    def lease(self) -> c.LeaseConfig | None:
        """Leader election's configuration, or None when it is off."""
        if not self.leader_election:
            return None
        assert self.lease_namespace is not None  # _check_consistency
        return c.LeaseConfig(self.lease_namespace, self.lease_name, self.pod_name, self.lease_duration_seconds)


def url_with_password(url: str, password: str) -> str:
    """`url` with `password` (percent-encoded) in place of any password it has."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
