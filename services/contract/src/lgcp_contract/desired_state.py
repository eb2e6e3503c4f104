"""The desired state the API hands a listener (`GET /v2/listener-api/listeners/{id}/desired-state`).

Read models: lenient by design. Unknown fields are ignored so that the API can grow without
breaking a running listener, and values the API validates on the way in (names, quantities,
label keys) are not validated again here. Bounds that the rendering relies on are kept, and
they are the API's own: `min_scale` is at least 1 (the API never accepts 0).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ResourceSpec(_Lenient):
    """`resource_spec` of a revision or a deployment: scale, resources and pod extras of one agent."""

    min_scale: int = Field(default=1, ge=1)
    max_scale: int = Field(default=1, ge=1)
    cpu: float | str | None = 1
    cpu_limit: float | str | None = None
    memory_mb: int | None = 1024
    memory_limit_mb: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    service_account_name: str | None = None
    image_pull_secrets: list[str] = Field(default_factory=list)
    # Kubernetes-shaped pod extras, checked by the API against Pod Security "restricted"; the
    # listener still sets every container's security context itself.
    volumes: list[dict[str, Any]] = Field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = Field(default_factory=list)
    init_containers: list[dict[str, Any]] = Field(default_factory=list)
    sidecars: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("image_pull_secrets", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        # Accept both ["name"] and [{"name": "name"}], the two shapes clients send.
        if isinstance(value, list):
            return [item["name"] if isinstance(item, dict) else item for item in value]
        return value or []

    @field_validator("labels", "annotations", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or {}

    @field_validator("volumes", "volume_mounts", "init_containers", "sidecars", mode="before")
    @classmethod
    def _none_is_none(cls, value: object) -> object:
        return value or []

    @property
    def autoscaled(self) -> bool:
        """Whether the agent's scale is a range (it gets a HorizontalPodAutoscaler)."""
        return self.max_scale > self.min_scale


class SecretValue(_Lenient):
    """A user secret, decrypted by the API for the listener only."""

    name: str
    value: SecretStr


class SecretReference(_Lenient):
    """An environment variable read from an existing Kubernetes Secret."""

    name: str
    secret_name: str
    secret_key: str


class Revision(_Lenient):
    """The revision the deployment should run. `status` is a `RevisionStatus` value, kept a
    plain string so that a status added by a newer API does not break the listener."""

    id: str
    image_uri: str
    status: str
    resource_spec: ResourceSpec | None = None
    created_at: str | None = None


class ListenerConfig(_Lenient):
    """`source_config.listener_config`."""

    k8s_namespace: str | None = None


class SourceConfig(_Lenient):
    """`source_config` of a deployment."""

    listener_id: str | None = None
    listener_config: ListenerConfig | None = None
    custom_url: str | None = None
    resource_spec: ResourceSpec | None = None


class DesiredDeployment(_Lenient):
    """One deployment as the listener must make it (or remove it, when `deleting`). `status` is
    a `DeploymentStatus` value, a plain string for the same reason as `Revision.status`."""

    id: str
    name: str
    namespace: str
    status: str | None = None
    source_config: SourceConfig = Field(default_factory=SourceConfig)
    secrets: list[SecretValue] = Field(default_factory=list)
    secret_references: list[SecretReference] = Field(default_factory=list)
    revision: Revision | None = None
    deleting: bool = False

    @field_validator("secrets", "secret_references", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or []

    @property
    def resource_spec(self) -> ResourceSpec:
        """The revision's resource spec when it has one, else the deployment's, else defaults."""
        if self.revision and self.revision.resource_spec:
            return self.revision.resource_spec
        return self.source_config.resource_spec or ResourceSpec()


class DesiredState(_Lenient):
    """The answer of `GET .../listeners/{id}/desired-state`."""

    listener_id: str
    deployments: list[DesiredDeployment]
