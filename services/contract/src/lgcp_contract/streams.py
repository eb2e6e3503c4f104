"""The Redis stream through which the API wakes a listener."""

from __future__ import annotations


def listener_changes_stream(listener_id: str) -> str:
    """The stream a listener reads: `lgcp:listener:{listener_id}:changes`.

    Every key of the control plane starts with `lgcp:`; the agents' Redis ACL users are kept
    away from that prefix.
    """
    return f"{CONTROL_PLANE_KEY_PREFIX}listener:{listener_id}:changes"


CONTROL_PLANE_KEY_PREFIX = "lgcp:"
