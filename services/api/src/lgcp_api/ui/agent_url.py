"""Where an agent answers, as the UI shows it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def agent_url(deployment: Mapping[str, Any], langsmith_hostname: str | None, base_path: str) -> str | None:
    """The deployment's custom URL, else `https://<LangSmith host><base path>/lgp/<name>` (the
    route the listener creates); None when the host is not configured."""
    custom: str | None = deployment["source_config"].get("custom_url")
    if custom:
        return custom
    if not langsmith_hostname:
        return None
    return f"https://{langsmith_hostname}{base_path}/lgp/{deployment['name']}"
