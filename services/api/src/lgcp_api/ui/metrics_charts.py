"""The deployment page's charts: each figure of `GET .../metrics` drawn as a small SVG on the
server (no script, no third-party code), with the revisions that started in the window marked.
Pure geometry and wording; the page fetches the series through the v2 API."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 320, 90  # the viewBox: the chart's own units, scaled by CSS
TABLE_ROWS = 12  # the newest values listed under each chart, for reading without the picture


@dataclass(frozen=True)
class Window:
    name: str
    label: str
    span: dt.timedelta
    step: int  # seconds per point: about 120-150 points a chart


WINDOWS = {
    "hour": Window("hour", "Last hour", dt.timedelta(hours=1), 30),
    "day": Window("day", "Last day", dt.timedelta(days=1), 600),
}


def _number(value: float) -> str:
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def _bytes(value: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} B"


_FORMATS: dict[str, Callable[[float], str]] = {
    "bytes": _bytes,
    "cores": lambda v: f"{v:.3g} cores",
    "ms": lambda v: f"{_number(v)} ms",
    "requests/s": lambda v: f"{_number(v)}/s",
}
# The figures charted, in this order, with their titles.
CHARTED = {
    "cpu_cores": "CPU",
    "memory_bytes": "Memory",
    "replicas_ready": "Ready pods",
    "restarts": "Restarts",
    "http_requests_per_second": "Requests",
    "http_errors_per_second": "5xx answers",
    "http_latency_ms": "Mean latency",
    "runs_pending": "Pending runs",
    "runs_running": "Running runs",
}


@dataclass(frozen=True)
class Marker:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    figure: str
    title: str
    summary: str  # latest, lowest and highest, in words: the SVG's description
    latest: str | None
    points: str  # the polyline's "x,y x,y ..." in viewBox units; empty when never measured
    top: str  # the value at the top edge
    markers: list[Marker]
    rows: list[tuple[str, str]]  # (time, value) of the newest points


def _fmt(unit: str) -> Callable[[float], str]:
    return _FORMATS.get(unit, _number)


def _ceiling(value: float) -> float:
    """A round value at or above `value`, so the top edge reads well (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def charts(metrics: dict[str, Any], since: dt.datetime, until: dt.datetime) -> list[Chart]:
    """One chart per charted figure of the API's answer, x from `since` to `until`."""
    span = (until - since).total_seconds()

    def x_of(stamp: str) -> float:
        return round((dt.datetime.fromisoformat(stamp) - since).total_seconds() / span * WIDTH, 1)

    markers = [
        Marker(x_of(m["first_seen"]), f"revision {str(m['revision_id'])[:8]}") for m in metrics.get("revisions", [])
    ]
    by_figure = {s["figure"]: s for s in metrics.get("series", [])}
    made = []
    for figure, title in CHARTED.items():
        series = by_figure.get(figure)
        if series is None:
            continue
        fmt = _fmt(series["unit"])
        values = [(p["timestamp"], float(p["value"])) for p in series["points"]]
        top = _ceiling(max((v for _, v in values), default=0.0))
        line = " ".join(f"{x_of(t)},{round(HEIGHT - v / top * HEIGHT, 1)}" for t, v in values)
        if values:
            low, high = min(v for _, v in values), max(v for _, v in values)
            summary = f"{title}: now {fmt(values[-1][1])}, lowest {fmt(low)}, highest {fmt(high)}"
        else:
            summary = f"{title}: not measured in this window"
        rows = [(t[11:19], fmt(v)) for t, v in values[-TABLE_ROWS:]][::-1]
        made.append(
            Chart(figure, title, summary, fmt(values[-1][1]) if values else None, line, fmt(top), markers, rows)
        )
    return made
