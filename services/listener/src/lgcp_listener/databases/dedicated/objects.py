"""The Kubernetes objects of an agent's own Postgres and Redis (pure)."""

from __future__ import annotations

import copy

from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment

from ...configuration import DedicatedConfig
from ...objects import Manifest
from ...render.agent import SERVER
from ...render.common import b64, container_security_context, labels, metadata, pod_security_context, selector
from ...render.context import Owner, RenderContext
from .connections import DedicatedAgentConnections
from .names import (
    CLAIM,
    DATABASE_NAME,
    DATABASE_USER,
    POSTGRES,
    POSTGRES_PASSWORD_KEY,
    POSTGRES_PORT,
    REDIS,
    REDIS_PASSWORD_KEY,
    REDIS_PORT,
    credentials_secret_name,
    network_policy_name,
    server_name,
)

PGDATA_MOUNT = "/var/lib/postgresql/data"
PGDATA = f"{PGDATA_MOUNT}/pgdata"  # a subdirectory: a volume's root may hold lost+found
UID = 999  # the postgres and redis users of the official images


def database_objects(
    desired: DesiredDeployment,
    conn: DedicatedAgentConnections,
    ctx: RenderContext,
    config: DedicatedConfig,
    owner: Owner | None,
) -> list[Manifest]:
    """The credentials Secret, and the databases' Services, StatefulSets and NetworkPolicy
    (owned by the agent's Deployment once `owner` is known). Unstamped. The Secret is here so
    that an edited or deleted one is put back and it shows in the preview;
    `DedicatedMode.provision` has created it, once, before any of these is applied."""
    return [
        credentials_secret(desired, conn, ctx),
        _service(desired, ctx, owner, POSTGRES, POSTGRES_PORT),
        _postgres(desired, conn, ctx, config, owner),
        _service(desired, ctx, owner, REDIS, REDIS_PORT),
        _redis(desired, ctx, config, owner),
        _network_policy(desired, ctx, owner),
    ]


def credentials_secret(desired: DesiredDeployment, conn: DedicatedAgentConnections, ctx: RenderContext) -> Manifest:
    """The Secret with the database passwords. No owner: it is kept with the data."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata(desired, ctx, credentials_secret_name(desired.name), "database-credentials", None),
        "data": {POSTGRES_PASSWORD_KEY: b64(conn.postgres_password), REDIS_PASSWORD_KEY: b64(conn.redis_password)},
    }


def live_claim(sts: Manifest | None) -> Manifest | None:
    """The normalised claim template of a live Postgres StatefulSet (what `_claim` renders)."""
    for template in ((sts or {}).get("spec") or {}).get("volumeClaimTemplates") or []:
        if template.get("metadata", {}).get("name") == CLAIM:
            spec = template.get("spec") or {}
            return {
                "labels": template["metadata"].get("labels") or {},
                "storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage"),
                "storageClassName": spec.get("storageClassName"),
            }
    return None


def _service(
    desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None, component: str, port: int
) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(desired, ctx, server_name(desired.name, component), component, owner),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(desired, component),
            "ports": [{"name": component, "port": port, "targetPort": component, "protocol": "TCP"}],
        },
    }


def _pod_spec(
    config: DedicatedConfig, containers: list[Manifest], volumes: list[Manifest], grace_seconds: int
) -> Manifest:
    spec: Manifest = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": grace_seconds,
        "securityContext": {**pod_security_context(UID), "fsGroupChangePolicy": "OnRootMismatch"},
        "containers": containers,
        "volumes": volumes,
    }
    if config.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in config.image_pull_secrets]
    return spec


def _statefulset(
    desired: DesiredDeployment,
    ctx: RenderContext,
    owner: Owner | None,
    component: str,
    pod_spec: Manifest,
    claims: list[Manifest],
) -> Manifest:
    name = server_name(desired.name, component)
    spec: Manifest = {
        "replicas": 1,
        "serviceName": name,
        # Parallel: a pod stuck on a bad image is replaced when the template is fixed
        # (OrderedReady would wait for it to become ready first, forever).
        "podManagementPolicy": "Parallel",
        "updateStrategy": {"type": "RollingUpdate"},
        "revisionHistoryLimit": 3,
        "selector": {"matchLabels": selector(desired, component)},
        "template": {"metadata": {"labels": labels(desired, ctx, component)}, "spec": pod_spec},
    }
    if claims:
        spec["volumeClaimTemplates"] = claims
        # The volume outlives the StatefulSet (deleted with the agent's Deployment): only an
        # API deletion with retention `delete` removes it (DedicatedMode.release).
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Retain", "whenScaled": "Retain"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(desired, ctx, name, component, owner),
        "spec": spec,
    }


def _claim(
    desired: DesiredDeployment, ctx: RenderContext, config: DedicatedConfig, conn: DedicatedAgentConnections
) -> Manifest:
    live = conn.postgres_claim or {}
    # The claim carries the deployment's id: that is what `release` and the first-creation check read.
    claim_labels = live.get("labels") or labels(desired, ctx, POSTGRES)
    spec: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": live.get("storage") or config.postgres_storage_size}},
    }
    storage_class = live.get("storageClassName") if conn.postgres_claim is not None else config.postgres_storage_class
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": CLAIM, "labels": claim_labels}, "spec": spec}


def _postgres(
    desired: DesiredDeployment,
    conn: DedicatedAgentConnections,
    ctx: RenderContext,
    config: DedicatedConfig,
    owner: Owner | None,
) -> Manifest:
    ready = {
        "exec": {
            "command": [
                "pg_isready",
                "--host",
                "127.0.0.1",
                "--port",
                str(POSTGRES_PORT),
                "--username",
                DATABASE_USER,
                "--dbname",
                DATABASE_NAME,
            ]
        }
    }
    container = {
        "name": POSTGRES,
        "image": config.postgres_image,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "POSTGRES_USER", "value": DATABASE_USER},
            {"name": "POSTGRES_DB", "value": DATABASE_NAME},
            {
                "name": "POSTGRES_PASSWORD",
                "valueFrom": {
                    "secretKeyRef": {"name": credentials_secret_name(desired.name), "key": POSTGRES_PASSWORD_KEY}
                },
            },
            {"name": "PGDATA", "value": PGDATA},
        ],
        "ports": [{"name": POSTGRES, "containerPort": POSTGRES_PORT, "protocol": "TCP"}],
        "startupProbe": {**ready, "periodSeconds": 5, "failureThreshold": 60},
        "readinessProbe": {**ready, "periodSeconds": 5, "timeoutSeconds": 3},
        "livenessProbe": {**ready, "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 4},
        # A fast shutdown (SIGTERM alone is Postgres' "smart" one, which waits for every client).
        "lifecycle": {
            "preStop": {"exec": {"command": ["pg_ctl", "stop", "-D", PGDATA, "-m", "fast", "-w", "-t", "50"]}}
        },
        "resources": copy.deepcopy(config.postgres_resources),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": CLAIM, "mountPath": PGDATA_MOUNT},
            # The root filesystem is read-only: the socket directory and temp files need room.
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, the pod's own
        ],
    }
    pod = _pod_spec(config, [container], [{"name": "run", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}], 60)
    return _statefulset(desired, ctx, owner, POSTGRES, pod, [_claim(desired, ctx, config, conn)])


def _redis(desired: DesiredDeployment, ctx: RenderContext, config: DedicatedConfig, owner: Owner | None) -> Manifest:
    ping = {"exec": {"command": ["sh", "-c", f"redis-cli -h 127.0.0.1 -p {REDIS_PORT} ping | grep -q PONG"]}}
    password = {"secretKeyRef": {"name": credentials_secret_name(desired.name), "key": REDIS_PASSWORD_KEY}}
    container = {
        "name": REDIS,
        "image": config.redis_image,
        "imagePullPolicy": "IfNotPresent",
        # The password comes from the environment through the shell, never into the spec.
        "command": [
            "sh",
            "-c",
            f'exec redis-server --port {REDIS_PORT} --dir /data --save "" '
            '--appendonly no --requirepass "$REDISCLI_AUTH"',
        ],
        # redis-cli (the probes) reads REDISCLI_AUTH too.
        "env": [{"name": "REDISCLI_AUTH", "valueFrom": password}],
        "ports": [{"name": REDIS, "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "readinessProbe": {**ping, "periodSeconds": 5, "timeoutSeconds": 3},
        "livenessProbe": {**ping, "periodSeconds": 15, "timeoutSeconds": 5},
        "resources": copy.deepcopy(config.redis_resources),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    pod = _pod_spec(config, [container], [{"name": "data", "emptyDir": {}}], 30)
    return _statefulset(desired, ctx, owner, REDIS, pod, [])


def _network_policy(desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(desired, ctx, network_policy_name(desired.name), "databases", owner),
        "spec": {
            "podSelector": {
                "matchLabels": {L.DEPLOYMENT_ID: desired.id},
                "matchExpressions": [{"key": L.COMPONENT, "operator": "In", "values": [POSTGRES, REDIS]}],
            },
            "policyTypes": ["Ingress", "Egress"],
            # Only the agent's own LangGraph server pods; the databases call nobody.
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": selector(desired, SERVER)}}],
                    "ports": [{"port": POSTGRES_PORT, "protocol": "TCP"}, {"port": REDIS_PORT, "protocol": "TCP"}],
                }
            ],
            "egress": [],
        },
    }
