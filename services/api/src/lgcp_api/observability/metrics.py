"""Prometheus metrics of the API (process-wide, like the default registry they live in)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "lgcp_api_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["method", "route"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RESPONSES = Counter(
    "lgcp_api_responses_total", "Responses by route template and status.", ["method", "route", "status"]
)
NOTIFICATIONS = Counter("lgcp_api_notifications_total", "Listener notifications by outcome.", ["outcome"])
