"""Kubernetes objects as the listener handles them: plain JSON dicts, and reading their metadata.

The listener applies and reads JSON as it is (no model classes), so every layer passes `Manifest`s.
"""

from __future__ import annotations

from typing import Any

from lgcp_contract import labels as L

Manifest = dict[str, Any]
"""One Kubernetes object (or a part of one) as JSON."""


def metadata(obj: Manifest | None) -> Manifest:
    """The object's metadata ({} for None)."""
    return (obj or {}).get("metadata") or {}


def labels(obj: Manifest | None) -> dict[str, str]:
    """The object's labels ({} for None or none)."""
    found: dict[str, str] = metadata(obj).get("labels") or {}
    return found


def deployment_id(obj: Manifest | None) -> str | None:
    """The `lgcp.dev/deployment-id` label: which deployment an object belongs to."""
    return labels(obj).get(L.DEPLOYMENT_ID)


def belongs_to(obj: Manifest | None, deployment: str) -> bool:
    """Whether `obj` exists and is labelled as deployment `deployment`'s."""
    return obj is not None and deployment_id(obj) == deployment


def held_by_another(obj: Manifest | None, deployment: str) -> bool:
    """Whether `obj` exists and is not labelled as deployment `deployment`'s."""
    return obj is not None and deployment_id(obj) != deployment


def name_of(obj: Manifest) -> str:
    name: str = obj["metadata"]["name"]
    return name


def kind_of(obj: Manifest) -> str:
    kind: str = obj["kind"]
    return kind
