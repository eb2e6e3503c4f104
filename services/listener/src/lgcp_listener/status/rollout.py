"""A revision's rollout outcome from its live objects and pods, as `kubectl rollout status` would (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lgcp_contract import labels as L

from ..objects import Manifest, labels
from .pod_failures import pod_failure

State = Literal["progressing", "complete", "failed"]


@dataclass(frozen=True)
class Rollout:
    """`state` is `progressing`, `complete` or `failed`; `message` says why, for people."""

    state: State
    message: str


def derive(deployment: Manifest | None, pods: list[Manifest], revision_id: str, min_replicas: int = 0) -> Rollout:
    """The rollout state of `revision_id`, given the live Deployment and its pods.

    `min_replicas`: with an autoscaler the Deployment starts at one replica until the HPA raises
    it to its minimum, so a rollout is complete only at that many.
    """
    if deployment is None:
        return Rollout("progressing", "Deployment not created yet")
    meta, spec, status = deployment.get("metadata", {}), deployment.get("spec", {}), deployment.get("status") or {}
    if labels(deployment).get(L.REVISION_ID) != revision_id:
        return Rollout("progressing", "revision not applied yet")
    if status.get("observedGeneration", 0) < meta.get("generation", 0):
        return Rollout("progressing", "waiting for the Deployment controller")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return Rollout("failed", f"progress deadline exceeded: {condition.get('message', '')}".strip())
    failure = pod_failure([p for p in pods if labels(p).get(L.REVISION_ID) == revision_id])
    if failure:
        return Rollout("failed", failure)
    wanted = spec.get("replicas", 1)
    if wanted < min_replicas:
        return Rollout("progressing", f"waiting for the autoscaler to scale to {min_replicas} replicas (now {wanted})")
    updated = status.get("updatedReplicas", 0)
    if updated < wanted:
        return Rollout("progressing", f"{updated} of {wanted} replicas updated")
    if status.get("replicas", 0) > updated:
        return Rollout("progressing", f"{status.get('replicas', 0) - updated} old replicas pending termination")
    if status.get("availableReplicas", 0) < updated:
        return Rollout("progressing", f"{status.get('availableReplicas', 0)} of {updated} updated replicas available")
    return Rollout("complete", f"{wanted} replicas available")


def statefulset_pending(sts: Manifest | None) -> str | None:
    """Why a one-replica StatefulSet is not rolled out and ready yet, or None when it is."""
    if sts is None:
        return "StatefulSet not created yet"
    meta, status = sts.get("metadata", {}), sts.get("status") or {}
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return "waiting for the StatefulSet controller"
    wanted = (sts.get("spec") or {}).get("replicas", 1)
    if status.get("readyReplicas", 0) < wanted:
        return f"{status.get('readyReplicas', 0)} of {wanted} pods ready"
    if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        return "rolling update in progress"
    return None


def combine(app: Rollout, databases: Rollout) -> Rollout:
    """The agent's rollout with its databases': failed if either failed (the databases named
    first: an agent without them only crash-loops), complete only when both are."""
    failures = [r.message for r in (databases, app) if r.state == "failed"]
    if failures:
        return Rollout("failed", "; ".join(failures))
    if databases.state != "complete":
        return databases
    return app
