"""Bodies of the metrics endpoints: what the listener ships, what a reader gets back."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# A pass of the listener ships one point per revision it saw; a backlog after an outage is cut
# into reports of this size (lgcp_listener.metrics.shipping).
MAX_POINTS_PER_REPORT = 200


class Figure(StrEnum):
    """The figures the listener gathers (lgcp_listener.metrics names the same ones)."""

    replicas_ready = "replicas_ready"
    replicas_desired = "replicas_desired"
    restarts = "restarts"
    cpu_cores = "cpu_cores"
    memory_bytes = "memory_bytes"
    http_requests_total = "http_requests_total"
    http_requests_per_second = "http_requests_per_second"
    http_errors_per_second = "http_errors_per_second"
    http_latency_ms = "http_latency_ms"
    runs_pending = "runs_pending"
    runs_running = "runs_running"


@dataclass(frozen=True)
class FigureInfo:
    unit: str
    description: str
    # How the revisions running at the same time add up: most figures are sums over pods;
    # a latency is not, so the deployment shows its worst revision.
    across_revisions: Literal["sum", "max"] = "sum"


FIGURES: dict[Figure, FigureInfo] = {
    Figure.replicas_ready: FigureInfo("pods", "pods ready"),
    Figure.replicas_desired: FigureInfo("pods", "pods wanted by the Deployment"),
    Figure.restarts: FigureInfo("restarts", "container restarts of the pods that exist"),
    Figure.cpu_cores: FigureInfo("cores", "CPU used by the pods"),
    Figure.memory_bytes: FigureInfo("bytes", "memory (working set) of the pods"),
    Figure.http_requests_total: FigureInfo("requests", "HTTP requests the agent answered since its pods started"),
    Figure.http_requests_per_second: FigureInfo("requests/s", "HTTP requests answered"),
    Figure.http_errors_per_second: FigureInfo("requests/s", "HTTP answers with a 5xx status"),
    Figure.http_latency_ms: FigureInfo("ms", "mean HTTP latency over the interval", "max"),
    Figure.runs_pending: FigureInfo("runs", "runs waiting in the agent's queue"),
    Figure.runs_running: FigureInfo("runs", "runs executing"),
}

FigureValue = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class PointIn(BaseModel):
    """What one revision's pods measured at one moment; figures it could not read are left out."""

    model_config = ConfigDict(extra="forbid")

    revision_id: uuid.UUID
    timestamp: dt.datetime = Field(description="when the listener measured; timezone required")
    values: dict[Figure, FigureValue] = Field(min_length=1)


class MetricsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[PointIn] = Field(min_length=1, max_length=MAX_POINTS_PER_REPORT)


class SeriesPoint(BaseModel):
    timestamp: dt.datetime = Field(description="start of the step")
    value: float


class Series(BaseModel):
    figure: Figure
    unit: str
    description: str
    points: list[SeriesPoint] = Field(description="oldest first; steps without samples are left out")


class RevisionMark(BaseModel):
    revision_id: uuid.UUID
    first_seen: dt.datetime = Field(description="the first stored point of this revision: where it starts on a chart")


class MetricsOut(BaseModel):
    deployment_id: uuid.UUID
    revision_id: uuid.UUID | None = Field(description="set when the series are one revision's")
    since: dt.datetime
    until: dt.datetime
    step: int = Field(description="seconds per point: the step asked, rounded up to what is stored for the range")
    series: list[Series] = Field(description="one per figure, in a fixed order, empty points when never measured")
    revisions: list[RevisionMark] = Field(description="revisions whose first point falls in the range, oldest first")
