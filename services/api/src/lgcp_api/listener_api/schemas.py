"""Bodies of /v2/listener-api (docs/interfaces.md)."""

from __future__ import annotations

import datetime as dt
import uuid

from lgcp_contract import data_stores
from lgcp_contract.statuses import DeploymentStatus, RevisionStatus
from pydantic import BaseModel, ConfigDict, Field

from ..deployments.schemas import DeploymentOut, ResourceSpec
from ..listeners.schemas import ComputeId, Namespaces
from ..revisions.schemas import RevisionEvent


class RegisterIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"compute_id": "prod-cluster-1", "k8s_namespaces": ["agents"]}]},
    )

    compute_id: ComputeId
    k8s_namespaces: Namespaces = Field(default_factory=list)
    data_store: str | None = Field(
        None,
        pattern=data_stores.PATTERN,
        description="where this listener keeps its agents' databases (an identity, never an address "
        "or a credential); null: not known at this start, keep the one reported before",
    )


class SecretValue(BaseModel):
    name: str
    value: str


class RevisionToRun(BaseModel):
    id: uuid.UUID
    image_uri: str
    status: RevisionStatus
    resource_spec: ResourceSpec
    created_at: dt.datetime


class DesiredDeployment(DeploymentOut):
    """A deployment as the public API shows it, plus what only the listener gets."""

    namespace: str = Field(description="listener_config.k8s_namespace (fixed at creation)")
    secrets: list[SecretValue]  # type: ignore[assignment]  # decrypted here, and only here
    revision: RevisionToRun
    deleting: bool


class DesiredState(BaseModel):
    listener_id: uuid.UUID
    deployments: list[DesiredDeployment]


class RevisionStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RevisionStatus
    message: str | None = Field(None, max_length=8192)
    events: list[RevisionEvent] = Field(default_factory=list, max_length=500)


class DeploymentStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: DeploymentStatus
    message: str | None = Field(None, max_length=8192)
