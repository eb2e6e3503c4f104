"""The listener's configuration: environment variables with the prefix `LGCP_LISTENER_`."""

from __future__ import annotations

import re
import socket
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


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

    database_mode: Literal["shared", "dedicated", "external"] = "shared"
    database_retention: Literal["delete", "retain"] = "delete"
    postgres_admin_url: SecretStr | None = None
    agent_postgres_host: str | None = None
    agent_postgres_port: int = 5432
    agent_redis_url: SecretStr | None = None
    agent_redis_databases: int = Field(default=16, ge=2)
    # Shared mode: each agent gets a Redis ACL user limited to its database number (databases.py).
    agent_redis_acl: bool = True
    external_database_uri_template: SecretStr | None = None
    external_redis_uri_template: SecretStr | None = None

    langsmith_hostname: str = "langsmith.local"
    base_path: str = ""
    routing_mode: Literal["ingress", "gateway"] = "ingress"
    ingress_class_name: str | None = None
    tls_secret_name: str | None = None
    gateway_name: str | None = None
    gateway_namespace: str | None = None
    langsmith_endpoint: str | None = None
    langsmith_api_key: SecretStr | None = None
    license_key: SecretStr | None = None

    resync_seconds: float = Field(default=30, gt=0)
    workers: int = Field(default=8, ge=1)
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

    @field_validator("compute_id")
    @classmethod
    def _label_value(cls, value: str) -> str:
        # It is the value of the lgcp.dev/listener label that selects what this listener owns.
        if not _LABEL_VALUE.fullmatch(value):
            raise ValueError("must be a Kubernetes label value: at most 63 characters, alphanumerics, "
                             "'-', '_' or '.', starting and ending with an alphanumeric")
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
    def _check_consistency(self) -> "Settings":
        if self.default_namespace is None:
            self.default_namespace = self.namespaces[0]
        if self.default_namespace not in self.namespaces:
            raise ValueError("default_namespace must be one of namespaces")
        if self.lease_namespace is None:
            self.lease_namespace = self.default_namespace
        if self.database_mode == "shared":
            missing = [name for name in ("postgres_admin_url", "agent_postgres_host", "agent_redis_url")
                       if getattr(self, name) is None]
            if missing:
                raise ValueError(f"database_mode=shared needs {', '.join(missing)}")
        if self.database_mode == "dedicated":
            raise ValueError("database_mode=dedicated is not supported yet: use shared or external")
        if self.database_mode == "external":
            # LangGraph servers need both: an agent without REDIS_URI would only crash-loop.
            missing = [name for name in ("external_database_uri_template", "external_redis_uri_template")
                       if getattr(self, name) is None]
            if missing:
                raise ValueError(f"database_mode=external needs {', '.join(missing)}")
        if self.routing_mode == "gateway" and not self.gateway_name:
            raise ValueError("routing_mode=gateway needs gateway_name")
        return self
