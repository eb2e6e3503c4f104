"""The manifests preview the listener reports to the control plane (pure).

The control plane shows its users exactly what the listener applies, but must never hold an
agent's secret values: every Secret's `data` and `stringData` value is replaced by a marker
(keys kept). What is reported is identified by the applied-hashes the objects already carry, so
an unchanged rendering is not reported again.
"""

from __future__ import annotations

import copy

from ..objects import Manifest
from .hashing import applied_hash, content_hash

# The API refuses any other Secret value (docs/interfaces.md).
REDACTED = "<redacted>"


def redacted(objects: list[Manifest]) -> list[Manifest]:
    """Copies of `objects` with every Secret value replaced by REDACTED; the input is untouched."""
    result = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        if obj.get("kind") == "Secret":
            for field in ("data", "stringData"):
                if field in obj:
                    obj[field] = {key: REDACTED for key in obj[field]}
        result.append(obj)
    return result


def preview_hash(revision_id: str, objects: list[Manifest]) -> str:
    """Changes exactly when the revision or any rendered object (stamped by hashing.stamp) does."""
    return content_hash([revision_id, [applied_hash(obj) for obj in objects]])
