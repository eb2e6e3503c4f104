"""Bodies of /v2/listeners."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..kit.kubernetes_names import dns_label

Namespace = Annotated[str, AfterValidator(dns_label)]


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("namespaces must be unique")
    return values


Namespaces = Annotated[list[Namespace], AfterValidator(_unique), Field(max_length=100)]
ComputeId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]


class ComputeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k8s_namespaces: Namespaces = Field(default_factory=list, description="namespaces the listener may deploy to")


class ListenerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "compute_type": "k8s",
                    "compute_id": "prod-cluster-1",
                    "compute_config": {"k8s_namespaces": ["agents"]},
                }
            ]
        },
    )

    compute_type: Literal["k8s"] = "k8s"
    compute_id: ComputeId = Field(description="unique in the tenant, e.g. the cluster's name")
    compute_config: ComputeConfig = Field(default_factory=ComputeConfig)


class ListenerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compute_id: ComputeId | None = None
    compute_config: ComputeConfig | None = None


class ListenerOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    compute_type: Literal["k8s"]
    compute_id: str
    compute_config: ComputeConfig
    created_at: dt.datetime
    updated_at: dt.datetime
    data_store: str | None = Field(
        None,
        description="where the listener keeps its agents' databases, as it reported it when registering: "
        "a deployment moves between two listeners with the same one without losing its data "
        "(POST /v2/deployments/{id}/move); `dedicated` never shares; null: never reported",
    )
    last_seen_at: dt.datetime | None = Field(
        description="when the listener last called the listener API (recorded at most every few seconds); null: never",
    )
