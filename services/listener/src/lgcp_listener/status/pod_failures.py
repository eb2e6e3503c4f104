"""Why a pod cannot run, in words for people: the waiting reasons that fail a rollout at once
instead of after its progress deadline (pure)."""

from __future__ import annotations

from ..objects import Manifest

IMAGE_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
CONFIG_REASONS = {"CreateContainerConfigError", "CreateContainerError"}


def pod_failure(pods: list[Manifest]) -> str | None:
    """The first reason one of `pods` cannot run (image pull, crash loop, container
    configuration), or None; pods being deleted are not counted."""
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
                last = (container.get("lastState") or {}).get("terminated") or {}
                exit_info = f", last exit code {last['exitCode']}" if "exitCode" in last else ""
                restarts = container.get("restartCount", 0)
                return f"crash loop (CrashLoopBackOff, {restarts} restarts{exit_info}): {detail}".rstrip(": ")
            if reason in CONFIG_REASONS:
                return f"container configuration error ({reason}): {detail}".rstrip(": ")
    return None
