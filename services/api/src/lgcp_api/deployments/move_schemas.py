"""Bodies of POST /v2/deployments/{id}/move (an extension: LangSmith's API has no move)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..listeners.schemas import Namespace
from .schemas import DeploymentOut


class DeploymentMove(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"listener_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"}]},
    )

    listener_id: uuid.UUID = Field(description="the listener (data plane) to run the deployment from now on")
    k8s_namespace: Namespace | None = Field(
        None,
        description="one of that listener's namespaces; default: the same name when the listener "
        "has it (or declares none), else its first",
    )
    allow_new_databases: bool = Field(
        False,
        description="move even though the two listeners keep agents' databases in different places: the "
        "agent then starts on empty databases, and its current ones stay where they are (never dropped "
        "by the move). Without it such a move is refused (409) and nothing changes",
    )


class DeploymentMoveOut(BaseModel):
    deployment: DeploymentOut
    databases: Literal["kept", "new"] = Field(
        description="kept: both listeners share the agents' database servers, the agent keeps its data; "
        "new: the agent starts on empty databases under the new listener"
    )
    warning: str | None = Field(description="what the move leaves behind, for a move with new databases")
