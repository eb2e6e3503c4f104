"""A crash of an agent's container as a log entry at ERROR (pure): a crash-looping agent's own
last lines often carry no level (`exec: not found`, a bare exit), so without this entry
`langgraph deploy logs --level error` would not show that the agent keeps crashing."""

from __future__ import annotations

import datetime as dt

from lgcp_contract import labels as L

from ..objects import Manifest
from .lines import Entry, split_timestamp

# (pod, container) -> the restart count whose crash was shipped
Reported = dict[tuple[str, str], int]


def crash_entries(pod: Manifest, reported: Reported) -> list[Entry]:
    """One entry per crash not reported yet: each container (init containers too) whose last
    run ended with a non-zero exit code, read from the pod's status (`lastState.terminated`:
    the kubelet keeps only the last one, so a crash between two reads of a fast loop is counted
    in the restart number, not shipped alone)."""
    meta, status = pod["metadata"], pod.get("status") or {}
    revision_id = (meta.get("labels") or {}).get(L.REVISION_ID)
    entries = []
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        last = (container.get("lastState") or {}).get("terminated") or {}
        code = last.get("exitCode")
        key, restarts = (meta["name"], container["name"]), container.get("restartCount", 0)
        if not code or reported.get(key) == restarts:
            continue
        reported[key] = restarts
        stamp, _ = split_timestamp(f"{last.get('finishedAt', '')} x")
        # With terminationMessagePolicy FallbackToLogsOnError the message is the log's tail.
        words = f": {last['message'].strip()}" if (last.get("message") or "").strip() else ""
        text = (
            f"{meta['name']}/{container['name']} exited with code {code} ({last.get('reason') or 'Error'}), "
            f"{restarts} restarts{words}"
        )
        entries.append(Entry(stamp or dt.datetime.now(dt.UTC), "ERROR", "container", text, revision_id))
    return entries
