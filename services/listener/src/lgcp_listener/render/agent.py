"""Renders the Kubernetes objects of one agent deployment from its desired state (pure).

Every object carries the listener's labels and an applied-hash annotation. Children of the
LangGraph server Deployment name it as their owner once its uid is known, so that Kubernetes'
garbage collector removes them with it: the listener only ever has to find orphaned Deployments.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment, ResourceSpec

from ..configuration import RouteConfig
from ..objects import Manifest
from .common import b64, container_security_context, labels, metadata, pod_security_context, selector
from .context import AgentConnections, Owner, RenderContext
from .hashing import content_hash, stamp

PORT = 8000
ENV_SECRET_SUFFIX = "-env"
SERVER = "langgraph-server"  # the component label of the agent's own pods
AGENT_UID = 1000
# Objects a revision may add and a later one take away again (the others every agent has).
OPTIONAL_KINDS = ("HorizontalPodAutoscaler", "PodDisruptionBudget")


def env_secret_name(name: str) -> str:
    """The name of an agent's environment Secret."""
    return f"{name}{ENV_SECRET_SUFFIX}"


def disruption_budgeted(spec: ResourceSpec) -> bool:
    """Whether the agent gets a PodDisruptionBudget (it runs more than one replica)."""
    return spec.min_scale > 1


def owned_names(desired: DesiredDeployment, route_kind: str) -> list[tuple[str, str]]:
    """(kind, name) of every object `render` makes for this deployment, without rendering it."""
    spec = desired.resource_spec
    names = [
        ("Secret", env_secret_name(desired.name)),
        ("Deployment", desired.name),
        ("Service", desired.name),
        (route_kind, desired.name),
    ]
    if spec.autoscaled:
        names.append(("HorizontalPodAutoscaler", desired.name))
    if disruption_budgeted(spec):
        names.append(("PodDisruptionBudget", desired.name))
    return names


def mount_prefix(route: RouteConfig, name: str) -> str:
    """The path the agent is served under: `<base_path>/lgp/<name>`."""
    return f"{route.base_path}/lgp/{name}"


def render(
    desired: DesiredDeployment,
    connections: AgentConnections,
    ctx: RenderContext,
    owner: Owner | None = None,
    *,
    database_objects: Sequence[Manifest] = (),
) -> list[Manifest]:
    """All objects of one deployment, in apply order (Secret first, then the Deployment, ...).

    `database_objects`: what the database mode adds for this agent (`DatabaseMode.objects`),
    appended after the agent's own and stamped like them.
    """
    if desired.revision is None:
        raise ValueError(f"deployment {desired.id} has no revision to run")
    spec = desired.resource_spec
    # The Secret names no owner: it is written before the Deployment exists (shared mode stores
    # the database password in it first), and the listener deletes it itself.
    secret = _env_secret(desired, connections, ctx)
    env_hash = content_hash(secret["data"])
    objects = [
        secret,
        _deployment(desired, spec, ctx, env_hash),
        _service(desired, ctx, owner),
        _route(desired, ctx, owner),
    ]
    if spec.autoscaled:
        objects.append(_hpa(desired, spec, ctx, owner))
    if disruption_budgeted(spec):
        objects.append(_pdb(desired, ctx, owner))
    objects += database_objects
    return [stamp(obj) for obj in objects]


def _env_secret(desired: DesiredDeployment, conn: AgentConnections, ctx: RenderContext) -> Manifest:
    env = {item.name: item.value.get_secret_value() for item in desired.secrets}
    # Platform values last: they win over a user secret of the same name (the API rejects those).
    env.update({"DATABASE_URI": conn.database_uri, "POSTGRES_URI": conn.database_uri, "REDIS_URI": conn.redis_uri})
    if ctx.platform.langsmith_api_key:
        env["LANGSMITH_API_KEY"] = ctx.platform.langsmith_api_key
    if ctx.platform.license_key:
        env["LANGGRAPH_CLOUD_LICENSE_KEY"] = ctx.platform.license_key
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata(desired, ctx, env_secret_name(desired.name), "env", None),
        "data": {key: b64(value) for key, value in sorted(env.items())},
    }


def _tracing_env(desired: DesiredDeployment, ctx: RenderContext) -> list[Manifest]:
    """One LangSmith tracing project per agent, named after the deployment unless the user sets
    LANGSMITH_PROJECT (a secret or a reference: `env` would override their envFrom); tracing on
    when the platform gives a LangSmith key (LANGSMITH_TRACING is reserved to the platform)."""
    env: list[Manifest] = []
    user_names = {item.name for item in desired.secrets} | {ref.name for ref in desired.secret_references}
    if "LANGSMITH_PROJECT" not in user_names:
        env.append({"name": "LANGSMITH_PROJECT", "value": desired.name})
    if ctx.platform.langsmith_api_key:
        env.append({"name": "LANGSMITH_TRACING", "value": "true"})
    return env


def custom_host(desired: DesiredDeployment) -> tuple[str, bool] | None:
    """The hostname of the deployment's `custom_url`, and whether it is https; None without one."""
    url = desired.source_config.custom_url
    if not url:
        return None
    parsed = urlsplit(url)
    return (parsed.hostname, parsed.scheme == "https") if parsed.hostname else None


def custom_tls_secret_name(name: str) -> str:
    """The Secret holding the certificate of a deployment's https `custom_url` (the user's, or
    cert-manager's): named by convention, in the agent's namespace."""
    return f"{name}-custom-url-tls"


def _quantity_cpu(value: float | str | None) -> str | None:
    if value is None:
        return None
    return str(value) if isinstance(value, str) else f"{round(float(value) * 1000)}m"


def _resources(spec: ResourceSpec) -> Manifest:
    requests, limits = {}, {}
    if (cpu := _quantity_cpu(spec.cpu)) is not None:
        requests["cpu"] = cpu
    if (cpu_limit := _quantity_cpu(spec.cpu_limit)) is not None:
        limits["cpu"] = cpu_limit
    if spec.memory_mb is not None:
        requests["memory"] = f"{spec.memory_mb}Mi"
    memory_limit = spec.memory_limit_mb or spec.memory_mb
    if memory_limit is not None:
        limits["memory"] = f"{memory_limit}Mi"
    return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


# How long a replaced agent pod keeps serving before it is asked to stop.
# Long enough for the ingress to drop the endpoint (EndpointSlice, then Traefik's ~2 s throttle);
# short, because the draining server's worker still takes queued runs meanwhile.
PRE_STOP_PAUSE_SECONDS = 5


def _deployment(desired: DesiredDeployment, spec: ResourceSpec, ctx: RenderContext, env_hash: str) -> Manifest:
    revision = desired.revision
    assert revision is not None
    env: list[Manifest] = [
        {"name": "PORT", "value": str(PORT)},
        {"name": "MOUNT_PREFIX", "value": mount_prefix(ctx.route, desired.name)},
    ]
    if ctx.platform.langsmith_endpoint:
        env.append({"name": "LANGSMITH_ENDPOINT", "value": ctx.platform.langsmith_endpoint})
    env += _tracing_env(desired, ctx)
    env += [
        {"name": ref.name, "valueFrom": {"secretKeyRef": {"name": ref.secret_name, "key": ref.secret_key}}}
        for ref in desired.secret_references
    ]
    probe = {"httpGet": {"path": "/ok", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 5}
    container = {
        "name": SERVER,
        "image": revision.image_uri,
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "envFrom": [{"secretRef": {"name": env_secret_name(desired.name)}}],
        "env": env,
        "readinessProbe": probe,
        "livenessProbe": {**probe, "failureThreshold": 6},
        "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 60},
        "resources": _resources(spec),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *spec.volume_mounts],  # noqa: S108 - the pod's emptyDir
        # A pod being replaced keeps serving while its endpoint's removal reaches the ingress
        # (EndpointSlice, then the controller's own throttle): without the pause the server stops
        # at once and the ingress answers 502 meanwhile (measured on the real node). The kubelet's
        # own sleep action needs no shell in the image.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_PAUSE_SECONDS}}},
    }
    pod_spec: Manifest = {
        # The pause, then the server's own drain of in-flight runs.
        "terminationGracePeriodSeconds": PRE_STOP_PAUSE_SECONDS + 30,
        "automountServiceAccountToken": spec.service_account_name is not None,
        "securityContext": pod_security_context(AGENT_UID),
        "containers": [container, *(_extra_container(c) for c in spec.sidecars)],
        "volumes": [{"name": "tmp", "emptyDir": {}}, *spec.volumes],
    }
    if spec.init_containers:
        pod_spec["initContainers"] = [_extra_container(c) for c in spec.init_containers]
    if spec.service_account_name:
        pod_spec["serviceAccountName"] = spec.service_account_name
    if spec.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    pod_labels = {**spec.labels, **labels(desired, ctx, SERVER), L.REVISION_ID: revision.id}
    deployment_spec: Manifest = {
        "selector": {"matchLabels": selector(desired, SERVER)},
        "progressDeadlineSeconds": 300,
        "revisionHistoryLimit": 3,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": pod_labels, "annotations": {**spec.annotations, L.ENV_HASH: env_hash}},
            "spec": pod_spec,
        },
    }
    # With an HPA the replica count is the HPA's field: applying one would fight it.
    if not spec.autoscaled:
        deployment_spec["replicas"] = spec.min_scale
    meta = metadata(desired, ctx, desired.name, SERVER, None)
    meta["labels"][L.REVISION_ID] = revision.id
    meta["annotations"].update(spec.annotations)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": deployment_spec}


def _extra_container(given: Manifest) -> Manifest:
    """An init container or sidecar as given, with the "restricted" security context on top:
    the user may only choose its ids and a writable root (the API refuses anything wider)."""
    chosen = given.get("securityContext") or {}
    security = {**container_security_context(), **{k: v for k, v in chosen.items() if k in _USER_SECURITY}}
    return {**given, "securityContext": security}


_USER_SECURITY = frozenset({"runAsUser", "runAsGroup", "readOnlyRootFilesystem"})


def _service(desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(desired, ctx, desired.name, SERVER, owner),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(desired, SERVER),
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _route(desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None) -> Manifest:
    route, path = ctx.route, mount_prefix(ctx.route, desired.name)
    custom = custom_host(desired)
    if custom and custom[0] == route.hostname:
        custom = None  # already the platform's host: one rule
    meta = metadata(desired, ctx, desired.name, "route", owner)
    if route.mode == "gateway":
        parent: Manifest = {"name": route.gateway_name}
        if route.gateway_namespace:
            parent["namespace"] = route.gateway_namespace
        # TLS of a custom hostname is the Gateway listener's (Gateway API puts certificates there).
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": meta,
            "spec": {
                "parentRefs": [parent],
                "hostnames": [route.hostname, *([custom[0]] if custom else [])],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                        "backendRefs": [{"name": desired.name, "port": PORT}],
                    }
                ],
            },
        }
    # The custom hostname answers the same path as the platform's: the agent serves under its
    # MOUNT_PREFIX, and Ingress has no portable prefix rewrite.
    paths = [
        {"path": path, "pathType": "Prefix", "backend": {"service": {"name": desired.name, "port": {"number": PORT}}}}
    ]
    hosts = [route.hostname, *([custom[0]] if custom else [])]
    spec: Manifest = {"rules": [{"host": host, "http": {"paths": paths}} for host in hosts]}
    if route.ingress_class_name:
        spec["ingressClassName"] = route.ingress_class_name
    tls: list[Manifest] = []
    if route.tls_secret_name:
        tls.append({"hosts": [route.hostname], "secretName": route.tls_secret_name})
    if custom and custom[1]:
        tls.append({"hosts": [custom[0]], "secretName": custom_tls_secret_name(desired.name)})
    if tls:
        spec["tls"] = tls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def _hpa(desired: DesiredDeployment, spec: ResourceSpec, ctx: RenderContext, owner: Owner | None) -> Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(desired, ctx, desired.name, "autoscaler", owner),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": desired.name},
            "minReplicas": spec.min_scale,
            "maxReplicas": spec.max_scale,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}},
                }
            ],
        },
    }


def _pdb(desired: DesiredDeployment, ctx: RenderContext, owner: Owner | None) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(desired, ctx, desired.name, "disruption-budget", owner),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(desired, SERVER)}},
    }
