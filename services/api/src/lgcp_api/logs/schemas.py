"""Bodies of the logs endpoints: what the listener ships, what langgraph-cli asks and reads."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_ENTRIES_PER_REPORT = 500
MAX_MESSAGE_CHARS = 8 * 1024


class Level(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class Origin(StrEnum):
    """Where a line comes from: an agent container, a Kubernetes event, or the listener itself."""

    container = "container"
    event = "event"
    listener = "listener"


class LogEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision_id: uuid.UUID | None = None
    timestamp: dt.datetime
    level: Level = Level.INFO
    origin: Origin = Origin.container
    # Longer lines are cut by the listener; the bound here is the API's own guard.
    # A container may print NUL; Postgres text cannot hold it.
    message: Annotated[str, AfterValidator(lambda v: v.replace("\x00", ""))] = Field(max_length=MAX_MESSAGE_CHARS)


class LogsIn(BaseModel):
    """A batch the listener read since its last report (secret values already redacted)."""

    model_config = ConfigDict(extra="forbid")

    entries: list[LogEntryIn] = Field(max_length=MAX_ENTRIES_PER_REPORT)


class LogsQuery(BaseModel):
    """What `langgraph deploy logs` sends (LangSmith's shape); unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=1000)
    # Bounded: never more than KEEP_PER_DEPLOYMENT entries are kept, and Postgres wants a bigint.
    offset: int = Field(0, ge=0, le=1_000_000, description="entries to skip, in `order`")
    order: Literal["asc", "desc"] = "desc"
    level: Level | None = Field(None, description="this level and the more severe ones")
    query: str | None = Field(
        None, max_length=256, pattern=r"^[^\x00]*$", description="text the message contains (case-insensitive)"
    )
    start_time: dt.datetime | None = Field(None, description="inclusive; ISO 8601")
    end_time: dt.datetime | None = Field(None, description="exclusive; ISO 8601")


class LogEntryOut(BaseModel):
    id: str
    timestamp: int = Field(description="milliseconds since the epoch (as LangSmith answers)")
    level: Level
    message: str
    origin: Origin
    revision_id: uuid.UUID | None


class LogsOut(BaseModel):
    logs: list[LogEntryOut]
    next_offset: int | None = Field(description="the offset of the next page; null on the last one")
