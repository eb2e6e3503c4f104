"""Tells the control plane how each deployment and revision is doing: revision statuses with
their events, deployment statuses, and the manifests preview. Each report is sent once (memos
per deployment, dropped when the deployment goes)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from kubernetes_asyncio.client.exceptions import ApiException
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_contract.statuses import FINISHED, DeploymentStatus, RevisionStatus

from ..control_plane.client import ControlPlaneError
from ..objects import Manifest
from ..observability import metrics
from ..render.preview import preview_hash, redacted
from .cluster_cache import ClusterCache
from .ports import ControlPlaneReports, KubernetesApi

log = logging.getLogger(__name__)

Event = dict[str, Any]


@dataclass(frozen=True)
class _Reported:
    revision_id: str
    status: str
    message: str | None


class StatusReporter:
    """Reports through `control_plane`, reading events through `kube` and pods from `cache`."""

    def __init__(self, kube: KubernetesApi, control_plane: ControlPlaneReports, cache: ClusterCache) -> None:
        self.kube, self.cp, self.cache = kube, control_plane, cache
        self._reported: dict[str, _Reported] = {}  # deployment id -> the last revision status sent
        self._deployment_statuses: dict[str, set[str]] = {}  # deployment id -> statuses sent
        self._previewed: dict[str, str] = {}  # deployment id -> preview_hash last reported

    def knows(self, deployment: str) -> bool:
        """Whether any memo holds something of `deployment`."""
        return any(deployment in memo for memo in (self._reported, self._deployment_statuses, self._previewed))

    def forget(self, deployment: str) -> None:
        """Drops every memo of a deployment that is gone."""
        self._reported.pop(deployment, None)
        self._deployment_statuses.pop(deployment, None)
        self._previewed.pop(deployment, None)

    def assume_settled(self, desired: DesiredDeployment, objects: list[Manifest]) -> None:
        """Records `desired` as reported DEPLOYED and READY, its preview as `objects`, as a pass
        that settled it would have (bench/reconcile.py measures passes from there)."""
        assert desired.revision is not None
        self._reported[desired.id] = _Reported(desired.revision.id, RevisionStatus.DEPLOYED, "settled")
        self._deployment_statuses[desired.id] = {DeploymentStatus.READY}
        self._previewed[desired.id] = preview_hash(desired.revision.id, objects)

    async def revision(self, desired: DesiredDeployment, status: str, message: str | None) -> None:
        """Moves the deployment's revision to `status` (through DEPLOYING when it ends there),
        unless it is there already or has finished; final statuses carry the Kubernetes events."""
        revision = desired.revision
        assert revision is not None
        last = self._reported.get(desired.id)
        current = last.status if last and last.revision_id == revision.id else revision.status
        if current == status or (status == RevisionStatus.DEPLOYING and current in FINISHED):
            return
        if status in FINISHED and current != RevisionStatus.DEPLOYING:
            await self._post_revision(
                revision.id, RevisionStatus.DEPLOYING, None, [_listener_event(desired, RevisionStatus.DEPLOYING, None)]
            )
        final = status in (RevisionStatus.DEPLOYED, RevisionStatus.DEPLOY_FAILED)
        events = await self._events(desired) if final else []
        await self._post_revision(revision.id, status, message, [*events, _listener_event(desired, status, message)])
        self._reported[desired.id] = _Reported(revision.id, status, message)

    async def _post_revision(self, revision_id: str, status: str, message: str | None, events: list[Event]) -> None:
        try:
            await self.cp.revision_status(revision_id, status, message, events)
        except ControlPlaneError as exc:
            if exc.status not in (404, 409):
                raise
            # 409: the API's state machine refused (e.g. a newer revision interrupted this one).
            log.info("revision %s: status %s not accepted (%s)", revision_id, status, exc)

    async def deployment(self, desired: DesiredDeployment, status: str) -> None:
        """Sets the deployment's status, once per status."""
        sent = self._deployment_statuses.setdefault(desired.id, set())
        if status in sent:
            return
        try:
            await self.cp.deployment_status(desired.id, status)
        except ControlPlaneError as exc:
            if exc.status not in (404, 409):
                raise
        sent.add(status)

    async def preview(self, desired: DesiredDeployment, objects: list[Manifest]) -> None:
        """Tells the API what is about to be applied (Secret values redacted), when it changed.

        Best effort: the preview is for people, so a failure never holds up the rollout; it is
        not remembered as reported, so the next pass (at the latest the resync) tries again.
        """
        assert desired.revision is not None
        digest = preview_hash(desired.revision.id, objects)
        if self._previewed.get(desired.id) == digest:
            return
        try:
            await self.cp.manifests(desired.id, desired.revision.id, redacted(objects))
        except (ControlPlaneError, httpx.HTTPError) as exc:
            metrics.ERRORS.labels(kind=error_kind(exc)).inc()
            log.warning("manifests preview of deployment %s not reported: %s", desired.id, exc)
            return
        self._previewed[desired.id] = digest

    async def deleted(self, deployment: str) -> None:
        """Says everything of a deleted deployment is gone."""
        await self.cp.deleted(deployment)

    async def _events(self, desired: DesiredDeployment, limit: int = 50) -> list[Event]:
        """Kubernetes events of the agent's Deployment and pods, oldest first.

        One field-selected list per object keeps this independent of how many agents share
        the namespace.
        """
        names = [desired.name, *self.cache.pod_names(desired.id)]
        found: list[Manifest] = []
        for name in names[:10]:
            try:
                items, _ = await self.kube.list(
                    "Event", desired.namespace, field_selector=f"involvedObject.name={name}"
                )
            except ApiException as exc:
                log.info("events of %s not readable: %s", name, exc.status)
                return []
            found += items
        found.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return [
            {
                "type": e.get("type"),
                "reason": e.get("reason"),
                "message": e.get("message"),
                "object": f"{e['involvedObject'].get('kind')}/{e['involvedObject'].get('name')}",
                "timestamp": e.get("lastTimestamp") or e.get("eventTime"),
            }
            for e in found[-limit:]
        ]


def _listener_event(desired: DesiredDeployment, status: str, message: str | None) -> Event:
    """The listener's own line in the revision's log, beside the Kubernetes events."""
    assert desired.revision is not None
    texts: dict[str, str] = {
        RevisionStatus.DEPLOYING: f"applied {desired.revision.image_uri} to {desired.namespace}/{desired.name}",
        RevisionStatus.DEPLOYED: "rollout complete",
    }
    text = texts.get(status, message or status)
    return {
        "type": "Listener",
        "reason": str(status),
        "message": text,
        "object": f"Deployment/{desired.namespace}/{desired.name}",
        "timestamp": datetime.now(UTC).isoformat(),
    }


def error_kind(exc: BaseException) -> str:
    """The `kind` label of `lgcp_listener_errors_total` for a failure."""
    if isinstance(exc, ApiException):
        return f"kubernetes_{exc.status}"
    if isinstance(exc, ControlPlaneError):
        return f"control_plane_{exc.status}"
    return type(exc).__name__
