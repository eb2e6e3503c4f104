"""Whether an agent's own databases are ready, as `kubectl rollout status` judges a StatefulSet (pure)."""

from __future__ import annotations

from collections.abc import Callable

from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment

from ...objects import Manifest, labels
from ...status.pod_failures import pod_failure
from ...status.rollout import Rollout, statefulset_pending
from .names import POSTGRES, REDIS, postgres_name, redis_name


def databases_rollout(
    desired: DesiredDeployment, statefulset: Callable[[str], Manifest | None], pods: list[Manifest]
) -> Rollout:
    """`failed` naming the database whose pod cannot run (image pull, crash loop,
    configuration), `complete` once both StatefulSets are rolled out and ready."""
    failures, waiting = [], []
    for component, name in ((POSTGRES, postgres_name(desired.name)), (REDIS, redis_name(desired.name))):
        failure = pod_failure([p for p in pods if labels(p).get(L.COMPONENT) == component])
        if failure:
            failures.append(f"database {component} (StatefulSet {name}): {failure}")
            continue
        pending = statefulset_pending(statefulset(name))
        if pending:
            waiting.append(f"database {component}: {pending}")
    if failures:
        return Rollout("failed", "; ".join(failures))
    if waiting:
        return Rollout("progressing", "; ".join(waiting))
    return Rollout("complete", "databases ready")
