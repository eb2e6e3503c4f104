"""The chart as `helm template` (or an installed release) renders it: its objects, and each
workload container's environment, arguments and security settings resolved the way the kubelet
would, so that a container can also be run outside the cluster with exactly the chart's
configuration (tests/images runs the images with podman this way; only the addresses of the
chart's Services are swapped for local ones).
"""

from __future__ import annotations

import base64
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from .paths import CHART, HELM

# Variables the listener hands to agent pods inside the cluster: their addresses stay in-cluster.
_AGENT_FACING = re.compile(r"^LGCP_LISTENER_AGENT_")
_DEPENDENT_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass
class Container:
    """One container of a rendered workload, with its environment resolved to plain strings."""

    name: str
    image: str
    args: list[str]
    env: dict[str, str]
    pod_security: dict
    security: dict
    writable_paths: list[str]

    def podman_security_flags(self, empty_dirs: Path | None = None) -> list[str]:
        """`podman run` flags equivalent to the pod's and container's security settings.

        Each emptyDir is a tmpfs, or with `empty_dirs` a fresh folder below it, mode 0777 as the
        kubelet makes one (podman gives a tmpfs the owner of the image's folder there)."""
        flags = []
        uid = self.security.get("runAsUser", self.pod_security.get("runAsUser"))
        gid = self.security.get("runAsGroup", self.pod_security.get("runAsGroup"))
        if uid is not None:
            flags += ["--user", f"{uid}:{gid if gid is not None else uid}"]
        if self.security.get("readOnlyRootFilesystem"):
            flags.append("--read-only")
        for cap in self.security.get("capabilities", {}).get("drop", []):
            flags += ["--cap-drop", cap]
        if self.security.get("allowPrivilegeEscalation") is False:
            flags += ["--security-opt", "no-new-privileges"]
        for path in self.writable_paths:
            if empty_dirs is None:
                flags += ["--tmpfs", f"{path}:rw,size=64m,mode=1777"]
                continue
            folder = empty_dirs / path.strip("/").replace("/", "_")
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o777)
            flags += ["--volume", f"{folder}:{path}"]
        return flags


class RenderedChart:
    """The objects of one `helm template` run."""

    def __init__(self, objects: list[dict], namespace: str):
        self.objects = objects
        self.namespace = namespace

    @classmethod
    def render(
        cls, values_files: list[Path], release: str = "lgcp", namespace: str = "lgcp", set_values: list[str] = ()
    ) -> RenderedChart:
        """Renders the chart with helm v3 (`make tools` builds it)."""
        args = [str(HELM), "template", release, str(CHART), "--namespace", namespace]
        for f in values_files:
            args += ["--values", str(f)]
        for s in set_values:
            args += ["--set", s]
        out = subprocess.run(args, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"helm template failed: {out.stderr.strip()}")
        return cls.from_manifest(out.stdout, namespace)

    @classmethod
    def from_manifest(cls, manifest: str, namespace: str) -> RenderedChart:
        """The objects of a multi-document manifest (`helm template` or `helm get manifest`)."""
        return cls([o for o in yaml.safe_load_all(manifest) if o], namespace)

    @classmethod
    def installed(cls, release: str, namespace: str, kubeconfig: Path) -> RenderedChart:
        """The manifest of an installed release, so Secrets are the ones in the cluster."""
        args = [str(HELM), "get", "manifest", release, "--namespace", namespace, "--kubeconfig", str(kubeconfig)]
        out = subprocess.run(args, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"helm get manifest failed: {out.stderr.strip()}")
        return cls.from_manifest(out.stdout, namespace)

    def find(self, kind: str, component: str) -> dict:
        """The one object of `kind` labelled `app.kubernetes.io/component: component`."""
        found = [
            o
            for o in self.objects
            if o["kind"] == kind and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
        ]
        if len(found) != 1:
            raise LookupError(f"expected one {kind} of component {component!r}, found {len(found)}")
        return found[0]

    def named(self, kind: str, name: str) -> dict:
        for o in self.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name:
                return o
        raise LookupError(f"the chart renders no {kind} named {name!r}")

    def secret_value(self, name: str, key: str) -> str:
        secret = self.named("Secret", name)
        if key in secret.get("stringData", {}):
            return secret["stringData"][key]
        return base64.b64decode(secret["data"][key]).decode()

    def container(
        self, kind: str, component: str, name: str | None = None, init: bool = False, pod_name: str = "local"
    ) -> Container:
        """A container of a workload, its environment resolved as the kubelet would."""
        workload = self.find(kind, component)
        pod = workload["spec"]["template"]["spec"]
        containers = pod.get("initContainers" if init else "containers", [])
        spec = next((c for c in containers if name is None or c["name"] == name), None)
        if spec is None:
            raise LookupError(f"{kind} {component!r} has no container {name!r}")
        env: dict[str, str] = {}
        for item in spec.get("env", []):
            env[item["name"]] = self._env_value(item, env, pod_name)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        writable = [m["mountPath"] for m in spec.get("volumeMounts", []) if "emptyDir" in volumes.get(m["name"], {})]
        return Container(
            spec["name"],
            spec["image"],
            list(spec.get("args", [])),
            env,
            pod.get("securityContext", {}),
            spec.get("securityContext", {}),
            writable,
        )

    def _env_value(self, item: dict, earlier: dict[str, str], pod_name: str) -> str:
        if "value" in item:
            # $(VAR) refers to a variable defined earlier in the same container.
            return _DEPENDENT_VAR.sub(lambda m: earlier.get(m.group(1), m.group(0)), str(item["value"]))
        source = item.get("valueFrom", {})
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            return self.secret_value(ref["name"], ref["key"])
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            return self.named("ConfigMap", ref["name"])["data"][ref["key"]]
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            return {"metadata.name": pod_name, "metadata.namespace": self.namespace}[path]
        raise ValueError(f"cannot resolve environment variable {item['name']}: {item}")

    def client_service(self, component: str) -> str:
        """The name of the component's Service that clients use (not the headless one)."""
        found = [
            o["metadata"]["name"]
            for o in self.objects
            if o["kind"] == "Service"
            and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
            and o["spec"].get("clusterIP") != "None"
        ]
        if len(found) != 1:
            raise LookupError(f"expected one client Service of component {component!r}, found {found}")
        return found[0]

    def service_hosts(self, service_name: str) -> list[str]:
        """Every name by which pods reach a Service, longest first."""
        ns = self.named("Service", service_name)["metadata"].get("namespace", self.namespace)
        return [
            f"{service_name}.{ns}.svc.cluster.local",
            f"{service_name}.{ns}.svc",
            f"{service_name}.{ns}",
            service_name,
        ]


def swap_addresses(
    env: dict[str, str], chart: RenderedChart, local: dict[str, str], agent_facing_dialled: tuple[str, ...] = ()
) -> dict[str, str]:
    """`env` with each `service:port` of the chart replaced by its local `host:port`.

    `local` maps a rendered Service's name to the local address standing in for it. Variables
    that the listener passes on to agents keep their in-cluster addresses, except those named in
    `agent_facing_dialled`, which a local process also dials itself.
    """
    patterns = []
    for service, address in local.items():
        for host in chart.service_hosts(service):
            patterns.append((re.compile(rf"(?<=[@/]){re.escape(host)}:\d+"), address))
    swapped = {}
    for key, value in env.items():
        if not _AGENT_FACING.match(key) or key in agent_facing_dialled:
            for pattern, address in patterns:
                value = pattern.sub(address, value)
        swapped[key] = value
    return swapped
