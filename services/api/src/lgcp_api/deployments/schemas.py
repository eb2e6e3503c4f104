"""Request and response bodies of /v2/deployments, with every input rule of the contract."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any

from lgcp_contract.environment import RESERVED_ENV_NAMES
from lgcp_contract.labels import RESERVED_LABEL_PREFIXES
from lgcp_contract.names import DEPLOYMENT_NAME_MAX_LENGTH
from lgcp_contract.statuses import DeploymentStatus
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    field_serializer,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticUseDefault, core_schema

from ..kit.image_references import check_image_reference
from ..kit.kubernetes_names import dns_label, dns_subdomain, label_value, qualified_key, secret_data_key
from .pod_extras import MAX_ITEMS, ExtraContainer, Volume, VolumeMount, check_mounts

SECRET_VALUE_MAX_BYTES = 64 * 1024
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value) or len(value) > 255:
        raise ValueError("must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
    if value.upper() in RESERVED_ENV_NAMES:
        raise ValueError(f"{value} is set by the platform and cannot be overridden")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        qualified_key(key)
        if key.startswith(RESERVED_LABEL_PREFIXES):
            raise ValueError(f"label {key!r} is reserved for the platform")
        label_value(item)
    return value


def _annotations(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        qualified_key(key)
    if sum(len(k) + len(v) for k, v in value.items()) > 256 * 1024:
        raise ValueError("annotations must total at most 256 KiB")
    return value


def _secret_value(value: str) -> str:
    if len(value.encode()) > SECRET_VALUE_MAX_BYTES:
        raise ValueError(f"must be at most {SECRET_VALUE_MAX_BYTES} bytes")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
Namespace = Annotated[str, AfterValidator(dns_label)]
Subdomain = Annotated[str, AfterValidator(dns_subdomain)]


class PullSecretReference(BaseModel):
    """A Kubernetes LocalObjectReference to an image pull secret in the agent's namespace."""

    model_config = ConfigDict(extra="forbid")

    name: Subdomain


def _pull_secret_objects(value: object) -> object:
    # LangSmith's v2 reference and langgraph-cli send [{"name": "regcred"}]; older clients of
    # this API send ["regcred"]: both are taken, and answered as objects.
    if isinstance(value, list):
        return [{"name": item} if isinstance(item, str) else item for item in value]
    return value


PullSecrets = Annotated[list[PullSecretReference], BeforeValidator(_pull_secret_objects)]


class NullIsDefault:
    """An explicit JSON null takes the field's default, as if the field were left out.

    LangSmith's v2 reference declares every `resource_spec` field nullable, and clients
    generated from it send null for what they leave unset. The request schema says so
    (`anyOf: [..., null]`); the answer never carries null for such a field."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(_default_if_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        return {"anyOf": [json_schema, {"type": "null"}]} if handler.mode == "validation" else json_schema


def _default_if_null(value: object) -> object:
    if value is None:
        raise PydanticUseDefault()
    return value


_NO_EFFECT = "accepted and stored for LangSmith compatibility; no effect here: "
_NO_QUEUE = _NO_EFFECT + "the agent's server runs its own queue in the same pods (min_scale..max_scale)"
_NO_ORCHESTRATOR = _NO_EFFECT + "there is no separate orchestrator or executor tier"
_NO_REDIS = _NO_EFFECT + "Redis is the listener's (shared or dedicated), sized by its chart values"
_NO_DB = (
    _NO_EFFECT + "the agent's Postgres comes from the listener's database mode (shared, dedicated or "
    "external), sized by its chart values"
)

# Fields of LangSmith's v2 resource_spec that this control plane stores and answers but does
# not act on; kept in one list so the model, the docs table and the UI say the same thing.
NO_EFFECT_FIELDS: dict[str, str] = {
    **{f"queue_{k}": _NO_QUEUE for k in ("min_scale", "max_scale", "cpu", "cpu_limit", "memory_mb", "memory_limit_mb")},
    **{
        f"{tier}_{k}": _NO_ORCHESTRATOR
        for tier in ("orchestrator", "executor")
        for k in ("cpu", "cpu_limit", "memory_mb", "memory_limit_mb")
    },
    "orchestrator_min_scale": _NO_ORCHESTRATOR,
    "orchestrator_max_scale": _NO_ORCHESTRATOR,
    **{f"redis_{k}": _NO_REDIS for k in ("cpu", "cpu_limit", "memory_mb", "memory_limit_mb")},
    **{
        f"db_{k}": _NO_DB for k in ("cpu", "cpu_limit", "memory_mb", "memory_limit_mb", "storage_gi", "max_connections")
    },
}

Number = Annotated[float, Field(ge=0)]


class _LangSmithOnlyFields(BaseModel):
    """The v2 reference's fields this control plane accepts and stores without acting on them."""

    queue_min_scale: int | None = Field(None, ge=0, description=_NO_QUEUE)
    queue_max_scale: int | None = Field(None, ge=0, description=_NO_QUEUE)
    queue_cpu: Number | None = Field(None, description=_NO_QUEUE)
    queue_cpu_limit: Number | None = Field(None, description=_NO_QUEUE)
    queue_memory_mb: int | None = Field(None, ge=0, description=_NO_QUEUE)
    queue_memory_limit_mb: int | None = Field(None, ge=0, description=_NO_QUEUE)
    orchestrator_cpu: Number | None = Field(None, description=_NO_ORCHESTRATOR)
    orchestrator_cpu_limit: Number | None = Field(None, description=_NO_ORCHESTRATOR)
    orchestrator_memory_mb: int | None = Field(None, ge=0, description=_NO_ORCHESTRATOR)
    orchestrator_memory_limit_mb: int | None = Field(None, ge=0, description=_NO_ORCHESTRATOR)
    orchestrator_min_scale: int | None = Field(None, ge=0, description=_NO_ORCHESTRATOR)
    orchestrator_max_scale: int | None = Field(None, ge=0, description=_NO_ORCHESTRATOR)
    executor_cpu: Number | None = Field(None, description=_NO_ORCHESTRATOR)
    executor_cpu_limit: Number | None = Field(None, description=_NO_ORCHESTRATOR)
    executor_memory_mb: int | None = Field(None, ge=0, description=_NO_ORCHESTRATOR)
    executor_memory_limit_mb: int | None = Field(None, ge=0, description=_NO_ORCHESTRATOR)
    redis_cpu: Number | None = Field(None, description=_NO_REDIS)
    redis_cpu_limit: Number | None = Field(None, description=_NO_REDIS)
    redis_memory_mb: int | None = Field(None, ge=0, description=_NO_REDIS)
    redis_memory_limit_mb: int | None = Field(None, ge=0, description=_NO_REDIS)
    db_cpu: Number | None = Field(None, description=_NO_DB)
    db_cpu_limit: Number | None = Field(None, description=_NO_DB)
    db_memory_mb: int | None = Field(None, ge=0, description=_NO_DB)
    db_memory_limit_mb: int | None = Field(None, ge=0, description=_NO_DB)
    db_storage_gi: int | None = Field(None, ge=0, description=_NO_DB)
    db_max_connections: int | None = Field(None, ge=0, description=_NO_DB)


_VOLUMES = 'pod volumes (Kubernetes shape); only the sources Pod Security "restricted" admits'
_MOUNTS = "mounts of those volumes in the agent's container"
_INIT = 'init containers, run before the agent; the listener gives them the "restricted" security context'
_SIDECARS = 'containers beside the agent in its pod; the listener gives them the "restricted" security context'


class _PodExtras(BaseModel):
    """Volumes and containers added to the agent's pod (lgcp_api.deployments.pod_extras)."""

    volumes: list[Volume] | None = Field(None, max_length=MAX_ITEMS, description=_VOLUMES)
    volume_mounts: list[VolumeMount] | None = Field(None, max_length=MAX_ITEMS, description=_MOUNTS)
    init_containers: list[ExtraContainer] | None = Field(None, max_length=MAX_ITEMS, description=_INIT)
    sidecars: list[ExtraContainer] | None = Field(None, max_length=MAX_ITEMS, description=_SIDECARS)

    @field_serializer("volumes", "volume_mounts", "init_containers", "sidecars")
    def _as_given(self, items: list[BaseModel] | None) -> list[dict[str, Any]] | None:
        # Answered as written: Kubernetes' field names, nothing left out filled in with nulls.
        return None if items is None else [item.model_dump(mode="json", exclude_none=True) for item in items]


class ResourceSpec(_PodExtras, _LangSmithOnlyFields):
    """Compute for the agent; limits default to the requests. Every field of LangSmith's v2
    `resource_spec` is accepted, and an explicit null is the field's default; those marked
    "no effect here" are stored and answered only. A field the reference does not list is
    refused."""

    model_config = ConfigDict(extra="forbid")

    min_scale: Annotated[int, NullIsDefault()] = Field(1, ge=1, le=100, description="fewest replicas")
    max_scale: Annotated[int, NullIsDefault()] = Field(1, ge=1, le=100, description="most replicas (HPA)")
    cpu: Annotated[float, NullIsDefault()] = Field(1, gt=0, le=64, description="CPU request, in cores")
    cpu_limit: float | None = Field(None, gt=0, le=64, description="CPU limit; default: cpu")
    memory_mb: Annotated[int, NullIsDefault()] = Field(1024, ge=64, le=262144, description="memory request, MiB")
    memory_limit_mb: int | None = Field(None, ge=64, le=262144, description="memory limit; default: memory_mb")
    labels: Annotated[dict[str, str], AfterValidator(_labels), NullIsDefault()] = Field(default_factory=dict)
    annotations: Annotated[dict[str, str], AfterValidator(_annotations), NullIsDefault()] = Field(default_factory=dict)
    service_account_name: Subdomain | None = None
    image_pull_secrets: Annotated[PullSecrets, NullIsDefault()] = Field(
        default_factory=list,
        max_length=20,
        description='secrets in the agent\'s namespace: [{"name": "regcred"}] (plain names are accepted too)',
    )

    @model_validator(mode="after")
    def _bounds(self) -> ResourceSpec:
        if self.min_scale > self.max_scale:
            raise ValueError("min_scale must not exceed max_scale")
        if self.cpu_limit is None:
            self.cpu_limit = self.cpu
        elif self.cpu_limit < self.cpu:
            raise ValueError("cpu_limit must be at least cpu")
        if self.memory_limit_mb is None:
            self.memory_limit_mb = self.memory_mb
        elif self.memory_limit_mb < self.memory_mb:
            raise ValueError("memory_limit_mb must be at least memory_mb")
        check_mounts(
            self.volumes or [], self.volume_mounts or [], [*(self.init_containers or []), *(self.sidecars or [])]
        )
        return self


class ResourceSpecPatch(_PodExtras, _LangSmithOnlyFields):
    """Fields to change in a resource spec; the result is checked as a whole. A field given as
    null goes back to its default (what a create that leaves it out gets)."""

    model_config = ConfigDict(extra="forbid")

    min_scale: int | None = None
    max_scale: int | None = None
    cpu: float | None = None
    cpu_limit: float | None = None
    memory_mb: int | None = None
    memory_limit_mb: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    service_account_name: str | None = None
    image_pull_secrets: PullSecrets | None = None


class ListenerConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    k8s_namespace: Namespace | None = Field(None, description="namespace; default: the listener's")


class SourceConfig(BaseModel):
    # LangSmith clients send fields for other sources (deployment_type, integration_id, ...):
    # accepted and ignored rather than breaking scripts written for LangSmith.
    model_config = ConfigDict(extra="ignore")

    listener_id: uuid.UUID | None = Field(
        None, description="the listener that runs this deployment; may be left out when the tenant has only one"
    )
    listener_config: ListenerConfig = Field(default_factory=ListenerConfig)
    custom_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")] | None = Field(
        None, description="a second hostname the agent's route answers on (see docs/langsmith-compatibility.md)"
    )
    resource_spec: ResourceSpec = Field(default_factory=ResourceSpec)


class SourceConfigPatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    listener_id: uuid.UUID | None = None
    listener_config: ListenerConfig | None = None
    custom_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")] | None = None
    resource_spec: ResourceSpecPatch | None = None


class SourceRevisionConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image_uri: Annotated[str, AfterValidator(check_image_reference)] = Field(
        description="image built with `langgraph build` and pushed to a registry"
    )


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EnvName
    value: Annotated[str, AfterValidator(_secret_value)] = Field(description="write-only")


class SecretOut(BaseModel):
    """A secret as answered: its name only, values are write-only."""

    name: str


class SecretReference(BaseModel):
    """An environment variable taken from an existing Kubernetes Secret in the namespace."""

    model_config = ConfigDict(extra="forbid")

    name: EnvName
    secret_name: Subdomain
    secret_key: Annotated[str, AfterValidator(secret_data_key)]


def unique_env_names(secrets: list[SecretIn] | None, refs: list[SecretReference] | None) -> None:
    seen: set[str] = set()
    items: list[SecretIn | SecretReference] = [*(secrets or []), *(refs or [])]
    for item in items:
        if item.name in seen:
            raise ValueError(f"environment variable {item.name} is given more than once")
        seen.add(item.name)


SOURCE_MESSAGE = (
    "only 'external_docker' is supported: build the image with `langgraph build`, push it to a "
    "registry and give it as source_revision_config.image_uri"
)

_CREATE_EXAMPLE: JsonDict = {
    "name": "my-agent",
    "source": "external_docker",
    "source_config": {
        "listener_id": "6f1c0f5e-3a4b-4c55-9e21-0d5a3f1b2c3d",
        "listener_config": {"k8s_namespace": "agents"},
        "resource_spec": {"min_scale": 1, "max_scale": 3, "cpu": 1, "memory_mb": 1024},
    },
    "source_revision_config": {"image_uri": "registry.example.com/team/my-agent:1.0.0"},
    "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-..."}],
    "secret_references": [],
}


class DeploymentCreate(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [_CREATE_EXAMPLE]})

    name: Annotated[str, AfterValidator(lambda v: dns_label(v, DEPLOYMENT_NAME_MAX_LENGTH))] = Field(
        description=f"DNS label, at most {DEPLOYMENT_NAME_MAX_LENGTH} characters, unique in the tenant"
    )
    # Checked by the service, not here: a source LangSmith knows is a request understood and
    # refused (400 with a string detail the CLI shows), not a malformed body.
    source: str = Field("external_docker", max_length=64, description="only `external_docker`")
    source_config: SourceConfig
    source_revision_config: SourceRevisionConfig
    secrets: list[SecretIn] = Field(default_factory=list, max_length=200)
    secret_references: list[SecretReference] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _env_names_unique(self) -> DeploymentCreate:
        unique_env_names(self.secrets, self.secret_references)
        return self


class DeploymentPatch(BaseModel):
    """Changes to a deployment. A non-null image_uri, secrets, secret_references or
    resource_spec creates a new revision; `secrets` replaces the whole set."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"source_revision_config": {"image_uri": "registry.example.com/team/my-agent:1.1.0"}}]
        },
    )

    name: str | None = Field(None, description="immutable; accepted only when unchanged")
    source_config: SourceConfigPatch | None = None
    source_revision_config: SourceRevisionConfig | None = None
    secrets: list[SecretIn] | None = Field(None, max_length=200)
    secret_references: list[SecretReference] | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _env_names_unique(self) -> DeploymentPatch:
        unique_env_names(self.secrets, self.secret_references)
        return self


class ListenerConfigOut(BaseModel):
    k8s_namespace: str | None = None


class SourceConfigOut(BaseModel):
    listener_id: uuid.UUID
    listener_config: ListenerConfigOut
    custom_url: str | None = None
    resource_spec: ResourceSpec


class DeploymentOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    source: str
    source_config: SourceConfigOut
    source_revision_config: SourceRevisionConfig
    secrets: list[SecretOut]
    secret_references: list[SecretReference]
    status: DeploymentStatus
    latest_revision_id: uuid.UUID | None
    active_revision_id: uuid.UUID | None
    image_version: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class BulkDeleteItem(BaseModel):
    id: uuid.UUID
    status: int = Field(description="204 when accepted for deletion, else the error status")
    detail: str | None = None


class BulkDeleteOut(BaseModel):
    resources: list[BulkDeleteItem]
