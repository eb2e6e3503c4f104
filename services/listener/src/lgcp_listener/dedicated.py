"""`dedicated` database mode: every agent gets a Postgres StatefulSet and a Redis of its own, in
its namespace, next to its LangGraph server.

- Rendering is pure (`DedicatedConfig.objects`); `DedicatedConnections` does the I/O.
- Passwords are generated once and stored in the agent's credentials Secret
  (`<name>-db-credentials`) by `provision`, before any database pod exists; after a crash or a
  restart they are read back from it (or, if it was lost, from the agent's env Secret).
- Ownership and data: the StatefulSets, their Services and the NetworkPolicy are owned by the
  agent's Deployment and go with it. The Postgres volume (the StatefulSet's claim, kept by
  `persistentVolumeClaimRetentionPolicy: Retain`) and the credentials Secret are owned by
  nothing: they are the agent's data. Only a deletion the API asked for, with retention `delete`,
  removes them (`DedicatedConnections.drop`), by their names and only when labelled as that
  deployment's. An orphan, or a deletion with retention `retain`, keeps both, and a later
  deployment of the same name is refused rather than handed someone else's data.
- Redis holds nothing durable for a LangGraph server (run streams and queue wake-ups): it runs
  without persistence, so only Postgres has a volume.
- A StatefulSet's `volumeClaimTemplates`, `selector`, `serviceName` and `podManagementPolicy`
  are immutable: they never change for an existing agent. The claim's size and class are taken
  from the live StatefulSet when there is one (a changed setting applies to new agents only).
"""

from __future__ import annotations

import base64
import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from . import labels as L
from .desired import DesiredDeployment
from .hashing import stamp
from .kube import Kube
from .render import AgentConnections, Owner, RenderContext, _b64, _labels, _metadata
from .rollout import Rollout, _pod_failure

POSTGRES_IMAGE = "postgres:16.4"  # the chart's postgres subchart
REDIS_IMAGE = "redis:7.4"  # the chart's redis subchart
POSTGRES_STORAGE_SIZE = "8Gi"
POSTGRES_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
REDIS_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}

KINDS = ("StatefulSet", "NetworkPolicy")  # what this mode adds to the informers
POSTGRES, REDIS = "postgres", "redis"  # component labels of the database pods
POSTGRES_PORT, REDIS_PORT = 5432, 6379
DATABASE_USER = DATABASE_NAME = "langgraph"
CLAIM = "data"
PGDATA_MOUNT = "/var/lib/postgresql/data"
PGDATA = f"{PGDATA_MOUNT}/pgdata"  # a subdirectory: a volume's root may hold lost+found
UID = 999  # the postgres and redis users of the official images
POSTGRES_PASSWORD_KEY, REDIS_PASSWORD_KEY = "postgres-password", "redis-password"


class DedicatedDatabaseError(Exception):
    """The agent's database cannot be set up as it stands; the message says why and what to do."""


def postgres_name(name: str) -> str:
    """The Postgres StatefulSet and Service of agent `name`."""
    return f"{name}-postgres"


def redis_name(name: str) -> str:
    """The Redis StatefulSet and Service of agent `name`."""
    return f"{name}-redis"


def credentials_secret_name(name: str) -> str:
    """The Secret holding the agent's database passwords (kept with its data)."""
    return f"{name}-db-credentials"


def network_policy_name(name: str) -> str:
    """The NetworkPolicy that lets only the agent's own pods reach its databases."""
    return f"{name}-databases"


def volume_claim_name(name: str) -> str:
    """The Postgres volume's claim, as the StatefulSet controller names it (ordinal 0)."""
    return f"{CLAIM}-{postgres_name(name)}-0"


def owned_names(name: str) -> list[tuple[str, str]]:
    """(kind, name) of everything this mode makes for agent `name`, its volume claim included:
    all must be the agent's own before its first creation."""
    return [("Secret", credentials_secret_name(name)),
            ("StatefulSet", postgres_name(name)), ("Service", postgres_name(name)),
            ("StatefulSet", redis_name(name)), ("Service", redis_name(name)),
            ("NetworkPolicy", network_policy_name(name)),
            ("PersistentVolumeClaim", volume_claim_name(name))]


def _host(desired: DesiredDeployment, service: str) -> str:
    return f"{service}.{desired.namespace}.svc"


def database_uri(desired: DesiredDeployment, password: str) -> str:
    """The agent's `postgresql://` URI of its own Postgres."""
    return (f"postgresql://{DATABASE_USER}:{quote(password, safe='')}@"
            f"{_host(desired, postgres_name(desired.name))}:{POSTGRES_PORT}/{DATABASE_NAME}")


def redis_uri(desired: DesiredDeployment, password: str) -> str:
    """The agent's `redis://` URI of its own Redis (database 0)."""
    return f"redis://:{quote(password, safe='')}@{_host(desired, redis_name(desired.name))}:{REDIS_PORT}/0"


@dataclass(frozen=True)
class DedicatedAgentConnections(AgentConnections):
    """The URIs, the passwords they carry, and what is already stored (never log these)."""

    postgres_password: str = field(default="", repr=False)
    redis_password: str = field(default="", repr=False)
    stored: bool = False  # the credentials Secret already holds these passwords
    credentials_found: bool = False  # it exists (perhaps missing a key someone removed)
    # The live StatefulSet's claim template (labels, size, class), which can no longer change.
    postgres_claim: dict | None = None


@dataclass(frozen=True)
class DedicatedConfig:
    """What every agent's databases are made of (from the `LGCP_LISTENER_DEDICATED_*` settings)."""

    postgres_image: str = POSTGRES_IMAGE
    redis_image: str = REDIS_IMAGE
    postgres_storage_size: str = POSTGRES_STORAGE_SIZE
    postgres_storage_class: str | None = None
    postgres_resources: dict = field(default_factory=lambda: copy.deepcopy(POSTGRES_RESOURCES))
    redis_resources: dict = field(default_factory=lambda: copy.deepcopy(REDIS_RESOURCES))
    image_pull_secrets: tuple[str, ...] = ()

    # --- rendering (pure) ----------------------------------------------------------------------

    def objects(self, desired: DesiredDeployment, conn: AgentConnections, ctx: RenderContext,
                owner: Owner | None) -> list[dict]:
        """The credentials Secret, and the databases' Services, StatefulSets and NetworkPolicy
        (owned by the agent's Deployment once `owner` is known). Unstamped. The Secret is here so
        that an edited or deleted one is put back and it shows in the preview;
        `DedicatedConnections.provision` has created it, once, before any of these is applied."""
        if not isinstance(conn, DedicatedAgentConnections):
            raise TypeError("dedicated mode renders from DedicatedAgentConnections")
        return [
            credentials_secret(desired, conn, ctx),
            self._service(desired, ctx, owner, POSTGRES, POSTGRES_PORT),
            self._postgres(desired, conn, ctx, owner),
            self._service(desired, ctx, owner, REDIS, REDIS_PORT),
            self._redis(desired, ctx, owner),
            self._network_policy(desired, ctx, owner),
        ]

    def _service(self, desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None,
                 component: str, port: int) -> dict:
        name = postgres_name(desired.name) if component == POSTGRES else redis_name(desired.name)
        return {
            "apiVersion": "v1", "kind": "Service",
            "metadata": _metadata(desired, ctx, name, component, owner),
            "spec": {"type": "ClusterIP", "selector": _selector(desired, component),
                     "ports": [{"name": component, "port": port, "targetPort": component, "protocol": "TCP"}]},
        }

    def _pod_spec(self, containers: list[dict], volumes: list[dict], grace_seconds: int) -> dict:
        spec: dict = {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": grace_seconds,
            "securityContext": {
                "runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": containers,
            "volumes": volumes,
        }
        if self.image_pull_secrets:
            spec["imagePullSecrets"] = [{"name": name} for name in self.image_pull_secrets]
        return spec

    def _statefulset(self, desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None,
                     component: str, pod_spec: dict, claims: list[dict]) -> dict:
        name = postgres_name(desired.name) if component == POSTGRES else redis_name(desired.name)
        spec: dict = {
            "replicas": 1,
            "serviceName": name,
            # Parallel: a pod stuck on a bad image is replaced when the template is fixed
            # (OrderedReady would wait for it to become ready first, forever).
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": _selector(desired, component)},
            "template": {"metadata": {"labels": _labels(desired, ctx, component)}, "spec": pod_spec},
        }
        if claims:
            spec["volumeClaimTemplates"] = claims
            # The volume outlives the StatefulSet (deleted with the agent's Deployment): only an
            # API deletion with retention `delete` removes it (DedicatedConnections.drop).
            spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Retain", "whenScaled": "Retain"}
        return {"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": _metadata(desired, ctx, name, component, owner), "spec": spec}

    def _claim(self, desired: DesiredDeployment, ctx: RenderContext, conn: DedicatedAgentConnections) -> dict:
        live = conn.postgres_claim or {}
        labels = live.get("labels") or _claim_labels(desired, ctx)
        spec: dict = {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": live.get("storage") or self.postgres_storage_size}}}
        storage_class = live.get("storageClassName") if conn.postgres_claim is not None else self.postgres_storage_class
        if storage_class:
            spec["storageClassName"] = storage_class
        return {"metadata": {"name": CLAIM, "labels": labels}, "spec": spec}

    def _postgres(self, desired: DesiredDeployment, conn: DedicatedAgentConnections, ctx: RenderContext,
                  owner: Owner | None) -> dict:
        ready = {"exec": {"command": ["pg_isready", "--host", "127.0.0.1", "--port", str(POSTGRES_PORT),
                                      "--username", DATABASE_USER, "--dbname", DATABASE_NAME]}}
        container = {
            "name": POSTGRES,
            "image": self.postgres_image,
            "imagePullPolicy": "IfNotPresent",
            "env": [
                {"name": "POSTGRES_USER", "value": DATABASE_USER},
                {"name": "POSTGRES_DB", "value": DATABASE_NAME},
                {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {
                    "name": credentials_secret_name(desired.name), "key": POSTGRES_PASSWORD_KEY}}},
                {"name": "PGDATA", "value": PGDATA},
            ],
            "ports": [{"name": POSTGRES, "containerPort": POSTGRES_PORT, "protocol": "TCP"}],
            "startupProbe": {**ready, "periodSeconds": 5, "failureThreshold": 60},
            "readinessProbe": {**ready, "periodSeconds": 5, "timeoutSeconds": 3},
            "livenessProbe": {**ready, "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 4},
            # A fast shutdown (SIGTERM alone is Postgres' "smart" one, which waits for every client).
            "lifecycle": {"preStop": {"exec": {"command": ["pg_ctl", "stop", "-D", PGDATA, "-m", "fast", "-w", "-t", "50"]}}},
            "resources": copy.deepcopy(self.postgres_resources),
            "securityContext": _container_security(),
            "volumeMounts": [
                {"name": CLAIM, "mountPath": PGDATA_MOUNT},
                # The root filesystem is read-only: the socket directory and temp files need room.
                {"name": "run", "mountPath": "/var/run/postgresql"},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }
        pod = self._pod_spec([container], [{"name": "run", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}], 60)
        return self._statefulset(desired, ctx, owner, POSTGRES, pod, [self._claim(desired, ctx, conn)])

    def _redis(self, desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None) -> dict:
        ping = {"exec": {"command": ["sh", "-c", f"redis-cli -h 127.0.0.1 -p {REDIS_PORT} ping | grep -q PONG"]}}
        password = {"secretKeyRef": {"name": credentials_secret_name(desired.name), "key": REDIS_PASSWORD_KEY}}
        container = {
            "name": REDIS,
            "image": self.redis_image,
            "imagePullPolicy": "IfNotPresent",
            # The password comes from the environment through the shell, never into the spec.
            "command": ["sh", "-c", f'exec redis-server --port {REDIS_PORT} --dir /data --save "" '
                                    '--appendonly no --requirepass "$REDISCLI_AUTH"'],
            # redis-cli (the probes) reads REDISCLI_AUTH too.
            "env": [{"name": "REDISCLI_AUTH", "valueFrom": password}],
            "ports": [{"name": REDIS, "containerPort": REDIS_PORT, "protocol": "TCP"}],
            "readinessProbe": {**ping, "periodSeconds": 5, "timeoutSeconds": 3},
            "livenessProbe": {**ping, "periodSeconds": 15, "timeoutSeconds": 5},
            "resources": copy.deepcopy(self.redis_resources),
            "securityContext": _container_security(),
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        }
        pod = self._pod_spec([container], [{"name": "data", "emptyDir": {}}], 30)
        return self._statefulset(desired, ctx, owner, REDIS, pod, [])

    def _network_policy(self, desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None) -> dict:
        return {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _metadata(desired, ctx, network_policy_name(desired.name), "databases", owner),
            "spec": {
                "podSelector": {"matchLabels": {L.DEPLOYMENT_ID: desired.id},
                                "matchExpressions": [{"key": L.COMPONENT, "operator": "In", "values": [POSTGRES, REDIS]}]},
                "policyTypes": ["Ingress", "Egress"],
                # Only the agent's own LangGraph server pods; the databases call nobody.
                "ingress": [{
                    "from": [{"podSelector": {"matchLabels": {L.DEPLOYMENT_ID: desired.id, L.COMPONENT: "langgraph-server"}}}],
                    "ports": [{"port": POSTGRES_PORT, "protocol": "TCP"}, {"port": REDIS_PORT, "protocol": "TCP"}],
                }],
                "egress": [],
            },
        }

    # --- status (pure) -------------------------------------------------------------------------

    def rollout(self, desired: DesiredDeployment, statefulset: Callable[[str], dict | None],
                pods: list[dict]) -> Rollout:
        """Whether the agent's databases are ready: `failed` naming the database whose pod cannot
        run (image pull, crash loop, configuration), `complete` once both StatefulSets are rolled
        out and ready (as `kubectl rollout status` judges a StatefulSet)."""
        failures, waiting = [], []
        for component, name in ((POSTGRES, postgres_name(desired.name)), (REDIS, redis_name(desired.name))):
            own = [p for p in pods if (p.get("metadata", {}).get("labels") or {}).get(L.COMPONENT) == component]
            failure = _pod_failure(own)
            if failure:
                failures.append(f"database {component} (StatefulSet {name}): {failure}")
                continue
            pending = _statefulset_pending(statefulset(name))
            if pending:
                waiting.append(f"database {component}: {pending}")
        if failures:
            return Rollout("failed", "; ".join(failures))
        if waiting:
            return Rollout("progressing", "; ".join(waiting))
        return Rollout("complete", "databases ready")


def combine(app: Rollout, databases: Rollout) -> Rollout:
    """The agent's rollout with its databases': failed if either failed (the databases named
    first: an agent without them only crash-loops), complete only when both are."""
    failures = [r.message for r in (databases, app) if r.state == "failed"]
    if failures:
        return Rollout("failed", "; ".join(failures))
    if databases.state != "complete":
        return databases
    return app


def credentials_secret(desired: DesiredDeployment, conn: DedicatedAgentConnections, ctx: RenderContext) -> dict:
    """The Secret with the database passwords. No owner: it is kept with the data (see above)."""
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": _metadata(desired, ctx, credentials_secret_name(desired.name), "database-credentials", None),
        "data": {POSTGRES_PASSWORD_KEY: _b64(conn.postgres_password), REDIS_PASSWORD_KEY: _b64(conn.redis_password)},
    }


def _selector(desired: DesiredDeployment, component: str) -> dict[str, str]:
    return {L.DEPLOYMENT_ID: desired.id, L.COMPONENT: component}


def _claim_labels(desired: DesiredDeployment, ctx: RenderContext) -> dict[str, str]:
    # The claim carries the deployment's id: that is what `drop` and the first-creation check read.
    return _labels(desired, ctx, POSTGRES)


def _container_security() -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _statefulset_pending(sts: dict | None) -> str | None:
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


def live_claim(sts: dict | None) -> dict | None:
    """The normalised claim template of a live Postgres StatefulSet (what `_claim` renders)."""
    for template in ((sts or {}).get("spec") or {}).get("volumeClaimTemplates") or []:
        if template.get("metadata", {}).get("name") == CLAIM:
            spec = template.get("spec") or {}
            return {"labels": template["metadata"].get("labels") or {},
                    "storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage"),
                    "storageClassName": spec.get("storageClassName")}
    return None


def _decoded(secret: dict | None, key: str) -> str | None:
    value = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(value).decode() if value else None


def _uri_password(secret: dict | None, key: str, host: str) -> str | None:
    """The password of the env Secret's URI `key` when it points at `host` (this mode's server)."""
    uri = _decoded(secret, key)
    if not uri:
        return None
    parts = urlsplit(uri)
    return unquote(parts.password) if parts.password and parts.hostname == host else None


def _owned_by(obj: dict | None, desired: DesiredDeployment) -> bool:
    return ((obj or {}).get("metadata", {}).get("labels") or {}).get(L.DEPLOYMENT_ID) == desired.id


class DedicatedConnections:
    """Dedicated mode's I/O: the passwords (generated once, stored before use, read back), and
    the removal of an agent's data on an API deletion with retention `delete`."""

    needs_provisioning = True

    def __init__(self, kube: Kube, ctx: RenderContext) -> None:
        if ctx.dedicated is None:
            raise ValueError("dedicated mode needs RenderContext.dedicated")
        self.kube, self.ctx = kube, ctx

    async def connections(self, desired: DesiredDeployment, secret: dict | None) -> DedicatedAgentConnections:
        """URIs of the agent's own servers, with the stored passwords (new ones the first time).

        `secret` is the agent's env Secret (or None): it holds the passwords too, and is where
        they are found again if the credentials Secret was deleted while the agent ran.
        """
        ns = desired.namespace
        stored = await self.kube.get("Secret", ns, credentials_secret_name(desired.name))
        if stored is not None and not _owned_by(stored, desired):
            raise DedicatedDatabaseError(
                f"Secret/{credentials_secret_name(desired.name)} exists in namespace {ns!r} and is not this "
                "deployment's: remove it or choose another name")
        kept = bool(_decoded(stored, POSTGRES_PASSWORD_KEY) and _decoded(stored, REDIS_PASSWORD_KEY))
        postgres = (_decoded(stored, POSTGRES_PASSWORD_KEY)
                    or _uri_password(secret, "DATABASE_URI", _host(desired, postgres_name(desired.name))))
        redis = (_decoded(stored, REDIS_PASSWORD_KEY)
                 or _uri_password(secret, "REDIS_URI", _host(desired, redis_name(desired.name))))
        if postgres is None:
            claim = await self.kube.get("PersistentVolumeClaim", ns, volume_claim_name(desired.name))
            if claim is not None:
                raise DedicatedDatabaseError(
                    f"PersistentVolumeClaim/{volume_claim_name(desired.name)} holds a database whose password "
                    f"is lost (Secret/{credentials_secret_name(desired.name)} is gone): restore that Secret, "
                    "or delete the claim to start with an empty database")
        postgres = postgres or secrets.token_urlsafe(24)
        redis = redis or secrets.token_urlsafe(24)
        live = await self.kube.get("StatefulSet", ns, postgres_name(desired.name))
        claim = live_claim(live) if _owned_by(live, desired) else None
        return DedicatedAgentConnections(database_uri(desired, postgres), redis_uri(desired, redis),
                                         postgres_password=postgres, redis_password=redis, stored=kept,
                                         credentials_found=stored is not None, postgres_claim=claim)

    async def provision(self, desired: DesiredDeployment, conn: DedicatedAgentConnections) -> None:
        """Stores the passwords in the credentials Secret, before any database pod can start.

        Created, never overwritten: if it appeared meanwhile, the next pass reads it back. One
        found without a key (edited by hand) gets the missing one, keeping the other.
        """
        if conn.stored:
            return
        secret = stamp(credentials_secret(desired, conn, self.ctx))
        if conn.credentials_found:
            await self.kube.apply(secret)
        else:
            await self.kube.create(secret)

    async def release(self, deployment_id: str) -> None:
        """Nothing outside the agent's namespace to free (its volume: see `drop`)."""
        return None

    async def drop(self, desired: DesiredDeployment) -> None:
        """Deletes the agent's volume claim and credentials Secret, each by name and only when
        labelled as this deployment's. Only for an API deletion with retention `delete`."""
        name = desired.name
        for kind, object_name in (("PersistentVolumeClaim", volume_claim_name(name)),
                                  ("Secret", credentials_secret_name(name))):
            found = await self.kube.get(kind, desired.namespace, object_name)
            if found is not None and _owned_by(found, desired):
                await self.kube.delete(kind, desired.namespace, object_name, uid=found["metadata"]["uid"])
