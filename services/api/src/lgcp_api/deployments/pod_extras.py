"""`resource_spec.volumes`, `volume_mounts`, `init_containers` and `sidecars` as LangSmith's v2
reference writes them (Kubernetes field names), checked so that the agent's pod still passes
Pod Security "restricted": only the volume sources it allows, no host paths, and no security
context wider than the one the listener gives every container itself; and so that an agent
reads no other agent's objects: no Secret or PersistentVolumeClaim by name (Secrets go through
secret_references, which the listener vets)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..kit.image_references import check_image_reference
from ..kit.kubernetes_names import dns_label

# The volume types Pod Security "restricted" admits (hostPath, nfs and the rest are refused);
# secret and persistentVolumeClaim are then refused for naming other objects (_READS_OTHERS).
RESTRICTED_VOLUME_SOURCES = (
    "configMap",
    "secret",
    "emptyDir",
    "persistentVolumeClaim",
    "projected",
    "downwardAPI",
    "csi",
    "ephemeral",
)
# Names the agent's pod already uses: its server container and its /tmp volume.
RESERVED_CONTAINER_NAMES = frozenset({"langgraph-server"})
RESERVED_VOLUME_NAMES = frozenset({"tmp"})
MAX_ITEMS = 20

Name = Annotated[str, AfterValidator(dns_label)]
Path = Annotated[str, Field(pattern=r"^/", max_length=4096)]


def _not_reserved(reserved: frozenset[str], what: str) -> Any:
    def check(value: str) -> str:
        if value in reserved:
            raise ValueError(f"{value!r} is the platform's own {what} name in the agent's pod")
        return value

    return AfterValidator(check)


class Volume(BaseModel):
    """A pod volume: a name and exactly one source, of the kinds "restricted" admits."""

    model_config = ConfigDict(extra="allow")

    name: Annotated[Name, _not_reserved(RESERVED_VOLUME_NAMES, "volume")]

    @model_validator(mode="after")
    def _one_restricted_source(self) -> Volume:
        sources = dict(self.model_extra or {})
        refused = sorted(set(sources) - set(RESTRICTED_VOLUME_SOURCES))
        if refused:
            raise ValueError(
                f"volume source {', '.join(refused)} is not allowed: Pod Security 'restricted' admits only "
                + ", ".join(RESTRICTED_VOLUME_SOURCES)
            )
        given = [key for key, value in sources.items() if value is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one source ({', '.join(RESTRICTED_VOLUME_SOURCES)}), not {len(given)}")
        source = given[0]
        if not isinstance(sources[source], dict):
            raise ValueError(f"{source} must be an object")
        if source in _READS_OTHERS or (source == "projected" and _projects_a_secret(sources[source])):
            raise ValueError(_READS_OTHERS_MESSAGE.format(what=f"a {source} volume"))
        return self


# Sources that name an object of the namespace the listener cannot vet here: another agent's
# Secret or database volume, or the platform's. Secrets go through secret_references, which the
# listener checks against exactly that (reconcile/preflight.py).
_READS_OTHERS = frozenset({"secret", "persistentVolumeClaim"})
_READS_OTHERS_MESSAGE = (
    "{what} is refused: it could read another agent's or the platform's objects in the namespace; "
    "give Secret values as secret_references (checked by the listener) instead"
)


def _projects_a_secret(projected: dict[str, Any]) -> bool:
    sources = projected.get("sources") or []
    return any(isinstance(item, dict) and "secret" in item for item in sources)


class VolumeMount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    mountPath: Path
    subPath: str | None = Field(None, max_length=4096)
    subPathExpr: str | None = Field(None, max_length=4096)
    # Bidirectional propagation needs a privileged container.
    mountPropagation: Literal["None", "HostToContainer"] | None = None
    readOnly: bool | None = None


class ContainerSecurity(BaseModel):
    """What a user may set of a container's security context; the listener adds the rest of
    "restricted" itself (no privilege escalation, no capabilities, RuntimeDefault seccomp,
    non-root). Anything wider is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    runAsUser: int | None = Field(None, ge=1)
    runAsGroup: int | None = Field(None, ge=1)
    readOnlyRootFilesystem: bool | None = None


class EnvVar(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    value: str | None = None
    valueFrom: dict[str, Any] | None = None


def _no_secret_env(env: list[EnvVar] | None, env_from: list[dict[str, Any]] | None) -> None:
    if any(item.valueFrom and "secretKeyRef" in item.valueFrom for item in env or []):
        raise ValueError(_READS_OTHERS_MESSAGE.format(what="env valueFrom.secretKeyRef"))
    if any("secretRef" in item for item in env_from or []):
        raise ValueError(_READS_OTHERS_MESSAGE.format(what="envFrom secretRef"))


class ContainerResources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: dict[str, str | int | float] | None = None
    requests: dict[str, str | int | float] | None = None


class ExtraContainer(BaseModel):
    """An init container or a sidecar, in Kubernetes' field names."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name, _not_reserved(RESERVED_CONTAINER_NAMES, "container")]
    image: Annotated[str, AfterValidator(check_image_reference)]
    imagePullPolicy: Literal["Always", "IfNotPresent", "Never"] | None = None
    command: list[str] | None = Field(None, max_length=100)
    args: list[str] | None = Field(None, max_length=100)
    workingDir: str | None = Field(None, max_length=4096)
    env: list[EnvVar] | None = Field(None, max_length=200)
    envFrom: list[dict[str, Any]] | None = Field(None, max_length=50)
    resources: ContainerResources | None = None
    volumeMounts: list[VolumeMount] | None = Field(None, max_length=MAX_ITEMS)
    ports: list[dict[str, Any]] | None = Field(None, max_length=MAX_ITEMS)
    securityContext: ContainerSecurity | None = None
    # An init container with restartPolicy Always is a native sidecar (Kubernetes 1.29+).
    restartPolicy: Literal["Always"] | None = None

    @model_validator(mode="after")
    def _reads_no_secret(self) -> ExtraContainer:
        _no_secret_env(self.env, self.envFrom)
        return self


def check_mounts(volumes: list[Volume], mounts: list[VolumeMount], containers: list[ExtraContainer]) -> None:
    """Every mount names a volume of the pod; names are unique."""
    names = [v.name for v in volumes]
    if len(set(names)) != len(names):
        raise ValueError("volume names must be unique")
    known = set(names) | RESERVED_VOLUME_NAMES
    every = [*mounts, *(m for c in containers for m in c.volumeMounts or [])]
    unknown = sorted({m.name for m in every} - known)
    if unknown:
        raise ValueError(f"volume mount(s) of {', '.join(unknown)}: no such volume in resource_spec.volumes")
    container_names = [c.name for c in containers]
    if len(set(container_names)) != len(container_names):
        raise ValueError("init container and sidecar names must be unique")
