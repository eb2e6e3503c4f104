"""Reconciles one deployment at a time into Kubernetes and reports its status to the control plane.

Level-triggered: every pass starts from the latest desired state and the watched cluster state,
so a pass interrupted anywhere (crash, error) is completed by the next one. Objects whose
applied-hash already matches are not written; a resync of unchanged deployments writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import datetime, timezone

import httpx
from kubernetes_asyncio.client.exceptions import ApiException

from . import labels as L
from . import metrics
from .control_plane import ControlPlane, ControlPlaneError
from . import dedicated
from .desired import DesiredDeployment
from .hashing import applied_hash
from .informer import Informer
from .kube import Kube
from .preview import preview_hash, redacted
from .render import AgentConnections, Owner, RenderContext, env_secret_name, owned_names, render
from .databases import RedisAclError
from .redis_numbers import NoRedisDatabaseLeft
from .rollout import derive
from .workqueue import WorkQueue

log = logging.getLogger(__name__)

ROLLOUT_STATUS = {"complete": "DEPLOYED", "failed": "DEPLOY_FAILED", "progressing": "DEPLOYING"}
FINAL = ("DEPLOYED", "DEPLOY_FAILED", "INTERRUPTED", "SKIPPED")
OPTIONAL_KINDS = ("HorizontalPodAutoscaler", "PodDisruptionBudget")


class NotYet(Exception):
    """The pass must wait for the cluster (e.g. a deletion in progress); retried with backoff."""


class Reconciler:
    """Owns the caches of what this listener made and the per-deployment reconcile pass."""

    def __init__(self, kube: Kube, control_plane: ControlPlane, connections, ctx: RenderContext,
                 namespaces: list[str], retention: str = "delete", workers: int = 8) -> None:
        self.kube, self.cp, self.conns, self.ctx = kube, control_plane, connections, ctx
        self.namespaces, self.retention, self.workers = namespaces, retention, workers
        self.queue: WorkQueue[None] = WorkQueue()
        self.desired: dict[str, DesiredDeployment] = {}
        # Until the first desired state arrives, nothing may be judged an orphan: a restart would
        # otherwise delete everything its watches list before the API has answered.
        self.loaded = False
        self.route_kind = "HTTPRoute" if ctx.route.mode == "gateway" else "Ingress"
        self.kinds = ("Deployment", "Secret", "Service", self.route_kind, *OPTIONAL_KINDS, "Pod")
        if ctx.dedicated is not None:
            self.kinds += dedicated.KINDS
        selector = L.owned_selector(ctx.compute_id)
        self.informers = {(kind, ns): Informer(kube, kind, ns, selector, self._on_change)
                          for kind in self.kinds for ns in namespaces}
        self.located: dict[str, tuple[str, str]] = {}  # deployment id -> (namespace, name) of its Deployment
        self.pods: dict[str, dict[str, dict]] = defaultdict(dict)  # deployment id -> pod name -> pod
        self._connections: dict[str, AgentConnections] = {}
        # What our last write left, per object: a later change of it by anyone else is drift.
        self._written: dict[tuple[str, str, str], str] = {}
        self._reported: dict[str, tuple[str, str | None]] = {}
        self._previewed: dict[str, str] = {}  # deployment id -> preview_hash last reported
        self._references_checked: set[str | None] = set()  # revision ids whose references passed
        self._ready_reported: set[str] = set()

    # --- cluster events ---------------------------------------------------------------------

    def _on_change(self, kind: str, event: str, obj: dict) -> None:
        meta = obj.get("metadata", {})
        deployment_id = (meta.get("labels") or {}).get(L.DEPLOYMENT_ID)
        if not deployment_id:
            return
        if kind == "Pod":
            if event == "DELETED":
                self.pods[deployment_id].pop(meta["name"], None)
            else:
                self.pods[deployment_id][meta["name"]] = obj
        elif kind == "Deployment":
            if event == "DELETED":
                self.located.pop(deployment_id, None)
            else:
                self.located[deployment_id] = (meta["namespace"], meta["name"])
        self.enqueue(deployment_id)

    def enqueue(self, deployment_id: str, urgent: bool = False) -> None:
        """Queues a deployment for a pass (at most once; see workqueue.py). Urgent: its desired
        state changed (a new deployment, revision or deletion), which goes before status work."""
        self.queue.put(deployment_id, None, urgent=urgent)
        metrics.QUEUE_DEPTH.set(len(self.queue))

    def informer(self, kind: str, namespace: str) -> Informer:
        """The cache of one kind in one namespace."""
        return self.informers[(kind, namespace)]

    async def wait_synced(self) -> None:
        """Returns once every cache has listed its objects."""
        await asyncio.gather(*(inf.synced.wait() for inf in self.informers.values()))

    # --- desired state ------------------------------------------------------------------------

    def set_desired(self, deployments: list[DesiredDeployment]) -> None:
        """Replaces the desired state and queues every deployment it names or no longer names."""
        previous, self.desired = self.desired, {d.id: d for d in deployments}
        self.loaded = True
        for deployment_id in set(self.desired) | set(self.located):
            self.enqueue(deployment_id, _changed(previous.get(deployment_id), self.desired.get(deployment_id)))

    def update_desired(self, deployment_ids: list[str], deployments: list[DesiredDeployment]) -> None:
        """Replaces the desired state of `deployment_ids` only (one missing from `deployments` no
        longer exists) and queues them."""
        answered = {d.id: d for d in deployments}
        for deployment_id in deployment_ids:
            previous = self.desired.get(deployment_id)
            if deployment_id in answered:
                self.desired[deployment_id] = answered[deployment_id]
            else:
                self.desired.pop(deployment_id, None)
            self.enqueue(deployment_id, _changed(previous, self.desired.get(deployment_id)))

    # --- workers --------------------------------------------------------------------------------

    async def run_workers(self) -> None:
        """Runs the workers until cancelled."""
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))

    async def _worker(self) -> None:
        while True:
            deployment_id, _ = await self.queue.get()
            metrics.QUEUE_DEPTH.set(len(self.queue))
            started = time.perf_counter()
            failed = False
            try:
                await self.reconcile(deployment_id)
            except NotYet as exc:
                failed = True
                log.debug("deployment %s: %s", deployment_id, exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one deployment's failure must not stop the others
                failed = True
                metrics.ERRORS.labels(kind=_error_kind(exc)).inc()
                log.warning("reconcile of deployment %s failed: %s", deployment_id, exc)
            finally:
                metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
                self.queue.done(deployment_id, failed=failed)

    # --- one pass ---------------------------------------------------------------------------------

    async def reconcile(self, deployment_id: str) -> None:
        """Brings one deployment to its desired state (or removes it) and reports its status."""
        if not self.loaded:
            return  # set_desired queues every known deployment again
        desired = self.desired.get(deployment_id)
        if desired is None or desired.deleting:
            await self._remove(deployment_id, desired)
            return
        if desired.revision is None:
            return
        if desired.namespace not in self.namespaces:
            await self._report(desired, "DEPLOY_FAILED",
                               f"namespace {desired.namespace!r} is not watched by this listener "
                               f"(watched: {', '.join(self.namespaces)})")
            return
        live = self.informer("Deployment", desired.namespace).get(desired.name)
        holder = ((live or {}).get("metadata", {}).get("labels") or {}).get(L.DEPLOYMENT_ID)
        if live is not None and holder != desired.id:
            await self._report(desired, "DEPLOY_FAILED",
                               f"name {desired.name!r} is already used in namespace {desired.namespace!r} by another deployment")
            return
        if live is not None and live["metadata"].get("deletionTimestamp"):
            raise NotYet(f"waiting for the deletion of Deployment {desired.namespace}/{desired.name} to finish")
        # The informers see only our labelled objects, and a forced apply would take over anything
        # else of the same name (and the garbage collector would later delete what then names our
        # Deployment as its owner). So before an object is first made, its name is looked up.
        taken = await self._names_taken_by_others(desired, first_creation=live is None)
        if taken:
            await self._report(desired, "DEPLOY_FAILED",
                               f"{', '.join(taken)} already exist in namespace {desired.namespace!r} and are "
                               "not this deployment's: choose another name or remove them")
            return
        refused = await self._refused_references(desired)
        if refused:
            await self._report(desired, "DEPLOY_FAILED",
                               f"secret_references may not name {', '.join(refused)}: they hold the control "
                               "plane's, the LangSmith host's TLS or another agent's credentials")
            return
        try:
            conn = await self._agent_connections(desired)
        except (NoRedisDatabaseLeft, RedisAclError, dedicated.DedicatedDatabaseError) as exc:
            # Tell people why, and keep retrying: a number may be freed by a deletion, an ACL
            # turned off or allowed.
            await self._report(desired, "DEPLOY_FAILED", str(exc))
            raise
        owner = _owner(live)
        objects = render(desired, conn, self.ctx, owner)
        # The Secret, then the Deployment, as soon as possible: that is what starts the rollout.
        # The Secret first, so that no pod ever starts without its environment.
        await self._apply_if_changed(desired, objects[0])
        created = await self._apply_if_changed(desired, objects[1])
        if owner is None and created is not None:
            # First creation: the rest (which names the Deployment as its owner) in a pass of its
            # own, queued behind the other new deployments, so that under a burst of creations
            # every rollout starts before any Service or status report is written.
            self.enqueue(desired.id)
            return
        follow_ups = [self._apply_if_changed(desired, obj) for obj in objects[2:]]
        follow_ups.append(self._report_preview(desired, objects))
        # Provisioned by now (see _agent_connections); dedicated databases are READY once their
        # pods are (see _report_rollout).
        if desired.status != "READY" and self.ctx.dedicated is None:
            follow_ups.append(self._deployment_status(desired, "READY"))
        await _all(follow_ups)
        wanted = {(obj["kind"], obj["metadata"]["name"]) for obj in objects}
        for kind in OPTIONAL_KINDS:
            if self.informer(kind, desired.namespace).get(desired.name) and (kind, desired.name) not in wanted:
                await self.kube.delete(kind, desired.namespace, desired.name)
                self.informer(kind, desired.namespace).forget(desired.name)
        await self._report_rollout(desired)

    async def _refused_references(self, desired: DesiredDeployment) -> list[str]:
        """Referenced Secrets an agent must not read: the chart's own (API keys, encryption keys,
        database passwords), other agents' environments and the LangSmith host's TLS Secret (its
        private key sits in the agents' namespace for their routes). Looked up once per revision."""
        revision_id = desired.revision.id if desired.revision else None
        if revision_id in self._references_checked:
            return []
        names = sorted({ref.secret_name for ref in desired.secret_references})
        found = await asyncio.gather(*(self.kube.get("Secret", desired.namespace, name) for name in names))
        refused = []
        for secret_name, secret in zip(names, found):
            labels = (secret or {}).get("metadata", {}).get("labels") or {}
            if labels.get("app.kubernetes.io/part-of") == "langgraph-controlplane" or \
                    labels.get(L.DEPLOYMENT_ID, desired.id) != desired.id or \
                    secret_name == self.ctx.route.tls_secret_name:
                refused.append(f"Secret/{secret_name}")
        if not refused:
            self._references_checked.add(revision_id)
        return refused

    async def _names_taken_by_others(self, desired: DesiredDeployment, first_creation: bool) -> list[str]:
        """`Kind/name` of objects holding this deployment's names that are not labelled as its own.

        On first creation every name it will use; afterwards only those of watched kinds that it
        does not have yet (an HPA a new revision adds, an object someone deleted), so a pass over
        a settled deployment reads nothing.
        """
        names = owned_names(desired, self.route_kind)
        if self.ctx.dedicated is not None:
            names += dedicated.owned_names(desired.name)  # its volume claim included
        if not first_creation:
            names = [(kind, name) for kind, name in names
                     if (kind, desired.namespace) in self.informers and self.informer(kind, desired.namespace).get(name) is None]
        if not names:
            return []
        found = await asyncio.gather(*(self.kube.get(kind, desired.namespace, name) for kind, name in names))
        return [f"{kind}/{name}" for (kind, name), existing in zip(names, found)
                if existing and (existing["metadata"].get("labels") or {}).get(L.DEPLOYMENT_ID) != desired.id]

    async def _agent_connections(self, desired: DesiredDeployment) -> AgentConnections:
        conn = self._connections.get(desired.id)
        if conn is not None:
            return conn
        # Once per deployment and process: read back the stored password, provision if needed.
        secret = self.informer("Secret", desired.namespace).get(env_secret_name(desired.name))
        if secret and (secret["metadata"].get("labels") or {}).get(L.DEPLOYMENT_ID) != desired.id:
            secret = None
        conn = await self.conns.connections(desired, secret)
        if self.conns.needs_provisioning:
            # The Secret (holding the password) is written before the role gets that password.
            await self._apply_if_changed(desired, render(desired, conn, self.ctx)[0])
            waiting = [self._deployment_status(desired, "AWAITING_DATABASE")] if desired.status != "READY" else []
            await _all([*waiting, self.conns.provision(desired, conn)])
        self._connections[desired.id] = conn
        return conn

    async def _apply_if_changed(self, desired: DesiredDeployment, obj: dict) -> dict | None:
        kind, name = obj["kind"], obj["metadata"]["name"]
        informer = self.informer(kind, desired.namespace)
        live, key = informer.get(name), (kind, desired.namespace, name)
        if applied_hash(live) == applied_hash(obj) and self._written.get(key, _version(live)) == _version(live):
            return None
        result = await self.kube.apply(obj)
        informer.remember(result)
        self._written[key] = _version(result)
        return result

    async def _remove(self, deployment_id: str, desired: DesiredDeployment | None) -> None:
        location = self.located.get(deployment_id)
        if desired is not None:
            location = location or (desired.namespace, desired.name)
        if location is not None:
            namespace, name = location
            if namespace in self.namespaces:
                live = await self.kube.get("Deployment", namespace, name)
                holder = ((live or {}).get("metadata", {}).get("labels") or {}).get(L.DEPLOYMENT_ID)
                if live is not None and holder == deployment_id:
                    if live["metadata"].get("deletionTimestamp") is None:
                        # Foreground: the Deployment goes only after the children it owns.
                        await self.kube.delete("Deployment", namespace, name, propagation="Foreground",
                                               uid=live["metadata"]["uid"])
                    raise NotYet(f"waiting for Deployment {namespace}/{name} to be deleted")
                secret = await self.kube.get("Secret", namespace, env_secret_name(name))
                if secret and (secret["metadata"].get("labels") or {}).get(L.DEPLOYMENT_ID) == deployment_id:
                    await self.kube.delete("Secret", namespace, env_secret_name(name), uid=secret["metadata"]["uid"])
        # Only a deletion the API asked for drops data. An orphan (a deployment the desired state
        # no longer names: a changed key, tenant or registration) loses its objects but keeps its
        # database, so a misconfiguration can never destroy every agent's data.
        if self.retention == "delete" and desired is not None and desired.deleting:
            await self.conns.release(deployment_id)
            if self.ctx.dedicated is not None:
                await self.conns.drop(desired)  # its volume and passwords, by name
        elif desired is None and location is not None:
            log.warning("deployment %s is not in the desired state: objects removed, database kept", deployment_id)
        self._connections.pop(deployment_id, None)
        self._previewed.pop(deployment_id, None)
        if location is not None:
            for kind in self.kinds:
                name = env_secret_name(location[1]) if kind == "Secret" else location[1]
                self._written.pop((kind, location[0], name), None)
            if self.ctx.dedicated is not None:
                for kind, name in dedicated.owned_names(location[1]):
                    self._written.pop((kind, location[0], name), None)
        self.pods.pop(deployment_id, None)
        if desired is not None:
            await self.cp.deleted(deployment_id)
            self.desired.pop(deployment_id, None)
        self.queue.forget(deployment_id)

    async def _report_preview(self, desired: DesiredDeployment, objects: list[dict]) -> None:
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
            metrics.ERRORS.labels(kind=_error_kind(exc)).inc()
            log.warning("manifests preview of deployment %s not reported: %s", desired.id, exc)
            return
        self._previewed[desired.id] = digest

    # --- status --------------------------------------------------------------------------------------

    async def _report_rollout(self, desired: DesiredDeployment) -> None:
        revision = desired.revision
        assert revision is not None
        live = self.informer("Deployment", desired.namespace).get(desired.name)
        spec = desired.resource_spec
        autoscaled_min = spec.min_scale if spec.max_scale > spec.min_scale >= 1 else 0
        rollout = derive(live, list(self.pods.get(desired.id, {}).values()), revision.id, autoscaled_min)
        if self.ctx.dedicated is not None:
            databases = self.ctx.dedicated.rollout(desired, self.informer("StatefulSet", desired.namespace).get,
                                                   list(self.pods.get(desired.id, {}).values()))
            if databases.state == "complete" and desired.status != "READY":
                await self._deployment_status(desired, "READY")
            rollout = dedicated.combine(rollout, databases)
        await self._report(desired, ROLLOUT_STATUS[rollout.state], rollout.message)

    async def _report(self, desired: DesiredDeployment, status: str, message: str | None) -> None:
        revision = desired.revision
        assert revision is not None
        last = self._reported.get(revision.id)
        current = last[0] if last else revision.status
        if current == status or (status == "DEPLOYING" and current in FINAL):
            return
        if status in FINAL and current != "DEPLOYING":
            await self._post_revision(revision.id, "DEPLOYING", None, [_listener_event(desired, "DEPLOYING", None)])
        events = await self._events(desired) if status in ("DEPLOYED", "DEPLOY_FAILED") else []
        await self._post_revision(revision.id, status, message, [*events, _listener_event(desired, status, message)])
        self._reported[revision.id] = (status, message)

    async def _post_revision(self, revision_id: str, status: str, message: str | None, events: list[dict]) -> None:
        try:
            await self.cp.revision_status(revision_id, status, message, events)
        except ControlPlaneError as exc:
            if exc.status not in (404, 409):
                raise
            # 409: the API's state machine refused (e.g. a newer revision interrupted this one).
            log.info("revision %s: status %s not accepted (%s)", revision_id, status, exc)

    async def _deployment_status(self, desired: DesiredDeployment, status: str) -> None:
        key = f"{desired.id}:{status}"
        if key in self._ready_reported:
            return
        try:
            await self.cp.deployment_status(desired.id, status)
        except ControlPlaneError as exc:
            if exc.status not in (404, 409):
                raise
        self._ready_reported.add(key)

    async def _events(self, desired: DesiredDeployment, limit: int = 50) -> list[dict]:
        """Kubernetes events of the agent's Deployment and pods, oldest first.

        One field-selected list per object keeps this independent of how many agents share
        the namespace.
        """
        names = [desired.name, *self.pods.get(desired.id, {})]
        found: list[dict] = []
        for name in names[:10]:
            try:
                items, _ = await self.kube.list("Event", desired.namespace, field_selector=f"involvedObject.name={name}")
            except ApiException as exc:
                log.info("events of %s not readable: %s", name, exc.status)
                return []
            found += items
        found.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return [{
            "type": e.get("type"), "reason": e.get("reason"), "message": e.get("message"),
            "object": f"{e['involvedObject'].get('kind')}/{e['involvedObject'].get('name')}",
            "timestamp": e.get("lastTimestamp") or e.get("eventTime"),
        } for e in found[-limit:]]


def _changed(before: DesiredDeployment | None, after: DesiredDeployment | None) -> bool:
    """Whether someone asked for something new: a deployment, revision or deletion."""
    if before is None or after is None:
        return before is not after
    return (before.revision.id if before.revision else None) != (after.revision.id if after.revision else None) \
        or before.deleting != after.deleting


async def _all(calls: list) -> None:
    """Runs `calls` at once and waits for every one; then raises the first failure, if any."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _listener_event(desired: DesiredDeployment, status: str, message: str | None) -> dict:
    """The listener's own line in the revision's log, beside the Kubernetes events."""
    assert desired.revision is not None
    text = {
        "DEPLOYING": f"applied {desired.revision.image_uri} to {desired.namespace}/{desired.name}",
        "DEPLOYED": "rollout complete",
    }.get(status, message or status)
    return {"type": "Listener", "reason": status, "message": text,
            "object": f"Deployment/{desired.namespace}/{desired.name}",
            "timestamp": datetime.now(timezone.utc).isoformat()}


def _version(obj: dict | None) -> str | None:
    """Changes whenever anyone changes the object's spec: its generation, else its resourceVersion
    (Services have no generation)."""
    if obj is None:
        return None
    meta = obj.get("metadata", {})
    return f"g{meta['generation']}" if "generation" in meta else f"rv{meta.get('resourceVersion')}"


def _owner(live: dict | None) -> Owner | None:
    if not live or not live.get("metadata", {}).get("uid"):
        return None
    return Owner(live["metadata"]["name"], live["metadata"]["uid"])


def _error_kind(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"kubernetes_{exc.status}"
    if isinstance(exc, ControlPlaneError):
        return f"control_plane_{exc.status}"
    return type(exc).__name__
