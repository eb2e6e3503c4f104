"""The chart installed on the local node with values/local.yaml, as a user installs it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .chart import RenderedChart
from .node import Node, NodeError
from .paths import CHART, LOCAL_VALUES

PSA_RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}


@dataclass
class ReleaseConfig:
    """Which release: its name, namespace and base path on the LangSmith host, its values files."""

    release: str = "lgcp"
    namespace: str = "lgcp"
    # `/` for the demo; a release beside it (tests/e2e) takes a path of its own on the same host.
    base_path: str = "/"
    values: list[Path] = field(default_factory=lambda: [LOCAL_VALUES])


class Release:
    """One release of the chart on the node: installed, tested, read back, uninstalled."""

    def __init__(self, node: Node, config: ReleaseConfig) -> None:
        self.node = node
        self.config = config
        self._chart: RenderedChart | None = None

    def install(self, *set_values: str, timeout: str = "600s") -> None:
        """`helm upgrade --install --wait` into a namespace enforcing Pod Security "restricted",
        on the node's ingress host and class (they win over the values files')."""
        labels = "".join(f"    {k}: {v}\n" for k, v in PSA_RESTRICTED.items())
        self.node.apply(
            f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {self.config.namespace}\n  labels:\n{labels}"
        )
        args = [
            "upgrade",
            "--install",
            self.config.release,
            str(CHART),
            "--namespace",
            self.config.namespace,
            "--wait",
            "--timeout",
            timeout,
        ]
        for values in self.config.values:
            args += ["--values", str(values)]
        ingress = self.node.ingress
        for value in (
            f"langsmith.hostname={ingress.host}",
            f"langsmith.ingress.className={ingress.class_name}",
            f"langsmith.basePath={self.config.base_path}",
            *set_values,
        ):
            args += ["--set", value]
        self.node.helm(*args, timeout=900)
        self._chart = None

    def restart_workloads_using(self, refs: list[str]) -> list[str]:
        """`kubectl rollout restart` of the release's Deployments and StatefulSets that run one of
        `refs`: an image rebuilt under the same tag is only picked up by new pods (IfNotPresent),
        and `helm upgrade` rolls nothing when the spec is unchanged. Returns what it restarted."""
        restarted = []
        for obj in self.chart.objects:
            if obj["kind"] not in ("Deployment", "StatefulSet"):
                continue
            pod = obj["spec"]["template"]["spec"]
            images = {c["image"] for c in pod.get("containers", []) + pod.get("initContainers", [])}
            if images & set(refs):
                name = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
                self.node.kubectl("rollout", "restart", name, "-n", self.config.namespace)
                self.node.kubectl("rollout", "status", name, "-n", self.config.namespace, "--timeout=300s", timeout=320)
                restarted.append(name)
        return restarted

    def test(self) -> str:
        """`helm test`: its output; raises with the test pod's log when it fails."""
        proc = self.node.helm(
            "test",
            self.config.release,
            "--namespace",
            self.config.namespace,
            "--logs",
            "--timeout",
            "300s",
            check=False,
            timeout=400,
        )
        if proc.returncode != 0:
            raise NodeError(f"helm test {self.config.release} failed:\n{(proc.stdout + proc.stderr).strip()[-3000:]}")
        return proc.stdout

    def installed(self) -> bool:
        return (
            self.node.helm(
                "status", self.config.release, "--namespace", self.config.namespace, check=False, timeout=60
            ).returncode
            == 0
        )

    @property
    def chart(self) -> RenderedChart:
        """The installed manifest (`helm get manifest`), so Secrets are the cluster's."""
        if self._chart is None:
            self._chart = RenderedChart.installed(self.config.release, self.config.namespace, self.node.kubeconfig)
        return self._chart

    def uninstall(self) -> list[str]:
        """`helm uninstall`, then the release namespace and the agents' namespaces the chart
        created (kept by `helm uninstall`, with the agents in them); returns the namespaces removed."""
        self.node.helm(
            "uninstall", self.config.release, "--namespace", self.config.namespace, "--wait", check=False, timeout=300
        )
        removed = [self.config.namespace, *self.kept_namespaces()]
        for name in removed:
            self.node.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=true", timeout=300)
        return removed

    def kept_namespaces(self) -> list[str]:
        """The namespaces this release created for agents, found by helm's ownership annotations."""
        listed = json.loads(self.node.kubectl("get", "namespaces", "-o", "json").stdout)["items"]
        return [
            n["metadata"]["name"]
            for n in listed
            if (n["metadata"].get("annotations") or {}).get("meta.helm.sh/release-name") == self.config.release
            and n["metadata"]["annotations"].get("meta.helm.sh/release-namespace") == self.config.namespace
        ]

    # --- what users read off the release -------------------------------------------------------

    def listener_setting(self, name: str) -> str:
        """A plain value of the listener's environment, as installed. Read without resolving the
        others: a data-plane release's listener takes its key from a Secret made before the
        install (`listener.apiKeySecret`), which is not in the release's manifest."""
        listener = self.chart.find("Deployment", "listener")
        container = next(c for c in listener["spec"]["template"]["spec"]["containers"] if c["name"] == "listener")
        return next(str(e["value"]) for e in container["env"] if e["name"] == name)

    @property
    def agents_namespace(self) -> str:
        """Where the listener puts a deployment that names no namespace (`<namespace>-agents`)."""
        return self.listener_setting("LGCP_LISTENER_DEFAULT_NAMESPACE")

    @property
    def compute_id(self) -> str:
        return self.listener_setting("LGCP_LISTENER_COMPUTE_ID")

    def admin_key_ref(self) -> tuple[str, str]:
        """(Secret name, key) the API reads its bootstrap admin key from."""
        api = self.chart.find("Deployment", "api")
        container = next(c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "api")
        ref = next(e for e in container["env"] if e["name"] == "LGCP_ADMIN_API_KEY")["valueFrom"]["secretKeyRef"]
        return ref["name"], ref["key"]

    @property
    def admin_key(self) -> str:
        """The release's admin API key (from its Secret; never print it)."""
        return self.chart.secret_value(*self.admin_key_ref())

    def _base(self) -> str:
        return self.node.ingress.origin + self.config.base_path.rstrip("/")

    @property
    def api_url(self) -> str:
        """The API through the ingress: `http://<host>[:port]<base path>/api-host`."""
        return f"{self._base()}/api-host"

    @property
    def ui_url(self) -> str:
        return f"{self._base()}{self.chart.container('Deployment', 'api', name='api').env.get('LGCP_UI_PATH', '/ui')}"

    def agent_url(self, name: str) -> str:
        """An agent through the ingress: `http://<host>[:port]<base path>/lgp/<name>`."""
        return f"{self._base()}/lgp/{name}"
