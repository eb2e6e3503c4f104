"""Bodies of the manifests preview, and the rules a reported manifest must follow."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from ..http.errors import field_error

# What a listener sends in place of every Secret value (docs/interfaces.md).
REDACTED = "<redacted>"
MAX_MANIFESTS = 50

_EXAMPLE: JsonDict = {
    "revision_id": "0b1c6a56-6f59-4a4a-9f5e-3f7f1d2a9c11",
    "manifests": [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "my-agent-env", "namespace": "agents"},
            "data": {"DATABASE_URI": REDACTED},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "my-agent", "namespace": "agents"},
            "spec": {"ports": [{"name": "http", "port": 8000}]},
        },
    ],
}


class ManifestsIn(BaseModel):
    """The listener's report: the objects it is about to apply for `revision_id`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    revision_id: uuid.UUID
    # Checked by hand (check_manifests) so that no error ever echoes a value back.
    manifests: list[Any] = Field(min_length=1, max_length=MAX_MANIFESTS)


class ManifestsOut(BaseModel):
    """The latest objects the listener rendered for a deployment."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_EXAMPLE, "rendered_at": "2026-01-01T00:00:00Z"}]})

    revision_id: uuid.UUID
    rendered_at: dt.datetime = Field(description="when the listener reported them, just before applying")
    manifests: list[dict[str, Any]]


def _nonempty_string(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def check_manifests(manifests: list[Any]) -> None:
    """Raises a 422 naming the first field that is not a Kubernetes object or an unredacted
    Secret value. Messages never include the offending value."""
    for index, obj in enumerate(manifests):
        loc: tuple[str | int, ...] = ("body", "manifests", index)
        if not isinstance(obj, dict):
            raise field_error(loc, "must be a Kubernetes object")
        for key in ("apiVersion", "kind"):
            if not _nonempty_string(obj.get(key)):
                raise field_error((*loc, key), "must be a non-empty string")
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict) or not _nonempty_string(metadata.get("name")):
            raise field_error((*loc, "metadata", "name"), "must be a non-empty string")
        if obj["kind"] == "Secret":
            _check_redacted(obj, loc)


def _check_redacted(secret: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    # The control plane must never hold an agent's secret values, not even from a faulty listener.
    for field in ("data", "stringData"):
        if field not in secret:
            continue
        values = secret[field]
        if not isinstance(values, dict):
            raise field_error((*loc, field), f"must be an object whose values are {REDACTED!r}")
        for key, value in values.items():
            if value != REDACTED:
                raise field_error(
                    (*loc, field, key),
                    f"Secret values must be replaced by {REDACTED!r}: the control plane never stores them",
                )
