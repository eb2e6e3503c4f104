"""Derives a revision's rollout outcome from its Deployment and pods, as `kubectl rollout status` would (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from . import labels as L

IMAGE_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
CONFIG_REASONS = {"CreateContainerConfigError", "CreateContainerError"}


@dataclass(frozen=True)
class Rollout:
    """`state` is `progressing`, `complete` or `failed`; `message` says why, for people."""

    state: str
    message: str


def derive(deployment: dict | None, pods: list[dict], revision_id: str, min_replicas: int = 0) -> Rollout:
    """The rollout state of `revision_id`, given the live Deployment and its pods.

    `min_replicas`: with an autoscaler the Deployment starts at one replica until the HPA raises
    it to its minimum, so a rollout is complete only at that many.
    """
    if deployment is None:
        return Rollout("progressing", "Deployment not created yet")
    meta, spec, status = deployment.get("metadata", {}), deployment.get("spec", {}), deployment.get("status") or {}
    if (meta.get("labels") or {}).get(L.REVISION_ID) != revision_id:
        return Rollout("progressing", "revision not applied yet")
    if status.get("observedGeneration", 0) < meta.get("generation", 0):
        return Rollout("progressing", "waiting for the Deployment controller")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return Rollout("failed", f"progress deadline exceeded: {condition.get('message', '')}".strip())
    failure = _pod_failure([p for p in pods if (p.get("metadata", {}).get("labels") or {}).get(L.REVISION_ID) == revision_id])
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


def _pod_failure(pods: list[dict]) -> str | None:
    for pod in pods:
        if pod.get("metadata", {}).get("deletionTimestamp"):
            continue
        status = pod.get("status") or {}
        for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason, detail = waiting.get("reason"), waiting.get("message") or ""
            if reason in IMAGE_PULL_REASONS:
                return f"image pull failure ({reason}): {detail}".rstrip(": ")
            if reason == "CrashLoopBackOff":
                last = ((container.get("lastState") or {}).get("terminated") or {})
                exit_info = f", last exit code {last['exitCode']}" if "exitCode" in last else ""
                return f"crash loop (CrashLoopBackOff, {container.get('restartCount', 0)} restarts{exit_info}): {detail}".rstrip(": ")
            if reason in CONFIG_REASONS:
                return f"container configuration error ({reason}): {detail}".rstrip(": ")
    return None
