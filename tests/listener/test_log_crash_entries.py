"""A crash of an agent's container is an ERROR log entry, once per restart (issue 17: a
crash-looping agent shows in `langgraph deploy logs --level error`). Pure: pods as the API
server answers them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lgcp_contract import labels as L
from lgcp_listener.logs.crashes import Reported, crash_entries


def pod(restarts: int, exit_code: int | None, message: str = "", init: bool = False) -> dict[str, Any]:
    """A pod whose one container restarted `restarts` times, its last run ending with `exit_code`."""
    ended = {"exitCode": exit_code, "reason": "Error", "message": message, "finishedAt": "2026-12-01T10:05:00Z"}
    last = {} if exit_code is None else {"terminated": ended}
    status = {"name": "setup" if init else "langgraph-server", "restartCount": restarts, "lastState": last}
    return {
        "metadata": {"name": "agent-pod", "labels": {L.REVISION_ID: "r1"}},
        "status": {"initContainerStatuses" if init else "containerStatuses": [status]},
    }


def test_a_crash_is_one_error_entry_per_restart() -> None:
    reported: Reported = {}
    [entry] = crash_entries(pod(3, 3), reported)
    assert (entry.level, entry.origin, entry.revision_id) == ("ERROR", "container", "r1")
    assert entry.message == "agent-pod/langgraph-server exited with code 3 (Error), 3 restarts"
    assert entry.timestamp == dt.datetime(2026, 12, 1, 10, 5, tzinfo=dt.UTC)
    assert crash_entries(pod(3, 3), reported) == []  # the same crash, read again
    assert [e.message for e in crash_entries(pod(4, 3), reported)] == [
        "agent-pod/langgraph-server exited with code 3 (Error), 4 restarts"
    ]


def test_the_termination_message_is_the_crashs_last_words_and_init_containers_count() -> None:
    [entry] = crash_entries(pod(1, 1, "Traceback ...\nKeyError: 'X'\n", init=True), {})
    assert entry.message == "agent-pod/setup exited with code 1 (Error), 1 restarts: Traceback ...\nKeyError: 'X'"


def test_a_clean_exit_or_no_exit_is_no_crash() -> None:
    assert crash_entries(pod(1, 0), {}) == []
    assert crash_entries(pod(0, None), {}) == []
    assert crash_entries({"metadata": {"name": "p"}}, {}) == []
