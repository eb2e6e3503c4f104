"""`resource_spec.volumes`, `volume_mounts`, `init_containers` and `sidecars` as LangSmith's v2
reference writes them (Kubernetes field names), checked so that the agent's pod still passes
Pod Security "restricted": only the volume sources it allows, no host paths, and no security
context wider than the one the listener gives every container itself."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..kit.image_references import check_image_reference
from ..kit.kubernetes_names import dns_label

# The volume types Pod Security "restricted" admits (hostPath, nfs and the rest are refused).
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
        if not isinstance(sources[given[0]], dict):
            raise ValueError(f"{given[0]} must be an object")
        return self


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
