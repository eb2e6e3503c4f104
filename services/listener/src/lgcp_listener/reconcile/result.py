"""What one reconcile pass asks of the work queue, as controller-runtime's `reconcile.Result`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """`DONE`: nothing more until something changes. `wait(reason)`: the pass waits for the
    cluster (a deletion in progress) and comes back after the key's backoff. `again_after`: come
    back after that many seconds (0: at once, behind the urgent keys). `gone`: the deployment
    is removed; every memo of it is dropped."""

    again_after: float | None = None
    backoff: bool = False
    gone: bool = False
    reason: str = ""

    @staticmethod
    def wait(reason: str) -> Result:
        return Result(backoff=True, reason=reason)


DONE = Result()
REMOVED = Result(gone=True)
