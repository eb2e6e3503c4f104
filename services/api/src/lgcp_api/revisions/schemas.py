"""Bodies of the revision endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from lgcp_contract.statuses import RevisionStatus
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..deployments.schemas import (
    ResourceSpec,
    SecretIn,
    SecretOut,
    SecretReference,
    SourceRevisionConfig,
    unique_env_names,
)


class RevisionCreate(BaseModel):
    """A new revision; fields left out keep the deployment's current values."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"source_revision_config": {"image_uri": "registry.example.com/team/my-agent:1.2.0"}}]
        },
    )

    source_revision_config: SourceRevisionConfig
    resource_spec: ResourceSpec | None = None
    secrets: list[SecretIn] | None = Field(None, max_length=200)
    secret_references: list[SecretReference] | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _env_names_unique(self) -> RevisionCreate:
        unique_env_names(self.secrets, self.secret_references)
        return self


class RevisionOut(BaseModel):
    id: uuid.UUID
    deployment_id: uuid.UUID
    status: RevisionStatus
    status_message: str | None
    source_revision_config: SourceRevisionConfig
    resource_spec: ResourceSpec
    secrets: list[SecretOut]
    secret_references: list[SecretReference]
    redeployed_from_revision_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class RevisionEvent(BaseModel):
    """One line of a revision's log: a listener step or a Kubernetes event."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field("Normal", max_length=64, description="e.g. Normal, Warning, Listener")
    reason: str | None = Field(None, max_length=256)
    message: str | None = Field(None, max_length=8192)
    object: str | None = Field(None, max_length=512, description="e.g. Deployment/agents/my-agent")
    timestamp: dt.datetime | None = Field(None, description="when it happened; default: when received")

    @field_validator("type", mode="before")
    @classmethod
    def _none_is_normal(cls, value: Any) -> Any:
        # Kubernetes events may lack a type; they are informational then.
        return "Normal" if value is None else value


class RevisionEventOut(RevisionEvent):
    id: int
    timestamp: dt.datetime


class RevisionsOut(BaseModel):
    """Revisions asked for by id (GET /v2/revisions); unknown ones are left out."""

    resources: list[RevisionOut]
