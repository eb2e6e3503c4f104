"""Bodies of /v2/tenants and /v2/api-keys."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..auth.roles import Role
from ..kit.kubernetes_names import dns_label


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "team-a"}]})

    name: Annotated[str, AfterValidator(dns_label)]


class TenantOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: dt.datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "ci", "role": "deployer"}]})

    name: str = Field(min_length=1, max_length=128)
    role: Role


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID | None
    name: str
    role: Role
    key_prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key itself; shown only in this answer")


class AuditEntryOut(BaseModel):
    id: int
    api_key_id: uuid.UUID | None
    action: str
    object_type: str
    object_id: uuid.UUID | None
    at: dt.datetime
