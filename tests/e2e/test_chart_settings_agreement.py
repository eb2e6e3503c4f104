"""The environment the installed chart gives the API and the listener pods on the real node
agrees with what each service's settings read, in both directions: every variable the chart
sets is one the service reads (or a helper another variable expands), and every setting the service
reads is set by the chart, except the few listed here with the reason the chart leaves them alone.
(tests/chart checks that the settings classes accept the rendered environment of every values file.)"""

from __future__ import annotations

import json
import re

import httpx
import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.images]

# Settings the chart does not set with values/local.yaml, and why.
API_LEFT_TO_DEFAULTS = {
    "LGCP_DB_POOL_MIN_SIZE",
    "LGCP_DB_POOL_MAX_SIZE",  # pool sizes: the service's defaults
    "LGCP_REDIS_TIMEOUT_SECONDS",
    "LGCP_AUTH_CACHE_SECONDS",  # tuning knobs, not exposed as values
}
LISTENER_LEFT_TO_DEFAULTS = {
    "LGCP_LISTENER_TENANT_ID",  # the admin key reaches one tenant
    "LGCP_LISTENER_KUBECONFIG",  # in the cluster the pod's service account is used
    "LGCP_LISTENER_WORKERS",
    "LGCP_LISTENER_LEASE_DURATION_SECONDS",  # tuning knobs, not exposed as values
    # Set by the chart only when the values choose them: external databases, TLS, gateway routing,
    # tracing and the license key. values/local.yaml chooses none.
    "LGCP_LISTENER_EXTERNAL_DATABASE_URI_TEMPLATE",
    "LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE",
    "LGCP_LISTENER_TLS_SECRET_NAME",
    "LGCP_LISTENER_GATEWAY_NAME",
    "LGCP_LISTENER_GATEWAY_NAMESPACE",
    "LGCP_LISTENER_LANGSMITH_ENDPOINT",
    "LGCP_LISTENER_LANGSMITH_API_KEY",
    "LGCP_LISTENER_LICENSE_KEY",
    # Data-plane mode only (api.enabled=false, values/dataplane.yaml: http); with the control
    # plane beside it the listener reads its Redis, the default.
    "LGCP_LISTENER_WAKEUP_SOURCE",
    # Dedicated database mode's settings, set only in that mode (tests/chart/test_settings_contract.py
    # renders it); values/local.yaml uses shared mode.
    "LGCP_LISTENER_DEDICATED_POSTGRES_IMAGE",
    "LGCP_LISTENER_DEDICATED_REDIS_IMAGE",
    "LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_SIZE",
    "LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_CLASS",
    "LGCP_LISTENER_DEDICATED_POSTGRES_RESOURCES",
    "LGCP_LISTENER_DEDICATED_REDIS_RESOURCES",
    "LGCP_LISTENER_DEDICATED_IMAGE_PULL_SECRETS",
}


def read_by(settings_class, prefix: str) -> set[str]:
    """The environment variables a pydantic-settings class reads."""
    assert settings_class.model_config["env_prefix"] == prefix
    return {prefix + name.upper() for name in settings_class.model_fields}


def chart_variables(
    demo, component: str, container: str | None = None, init: bool = False
) -> tuple[set[str], set[str]]:
    """(names the chart sets, names other variables expand through `$(NAME)`) for one container."""
    pod = demo.release.chart.find("Deployment", component)["spec"]["template"]["spec"]
    containers = pod["initContainers"] if init else pod["containers"]
    spec = next(c for c in containers if container is None or c["name"] == container)
    names = {item["name"] for item in spec["env"]}
    expanded = {ref for item in spec["env"] for ref in re.findall(r"\$\((\w+)\)", str(item.get("value", "")))}
    return names, expanded


@pytest.mark.parametrize("container, init", [("api", False), ("migrate", True)])
def test_the_chart_sets_exactly_what_the_api_reads(demo, container, init):
    from lgcp_api.core.settings import Settings

    names, expanded = chart_variables(demo, "api", container, init)
    read = read_by(Settings, "LGCP_")
    helpers = names - read
    assert helpers <= expanded, f"the chart sets {sorted(helpers - expanded)}, which lgcp-api never reads"
    assert not any(h.startswith("LGCP_") for h in helpers), sorted(helpers)
    unset = read - names
    assert unset == API_LEFT_TO_DEFAULTS, (
        f"lgcp-api reads {sorted(unset - API_LEFT_TO_DEFAULTS)}, which the chart "
        f"never sets; no longer read or now set: {sorted(API_LEFT_TO_DEFAULTS - unset)}"
    )


def test_the_chart_sets_exactly_what_the_listener_reads(demo):
    from lgcp_listener.settings import Settings

    names, expanded = chart_variables(demo, "listener")
    read = read_by(Settings, "LGCP_LISTENER_")
    helpers = names - read
    assert helpers <= expanded, f"the chart sets {sorted(helpers - expanded)}, which lgcp-listener never reads"
    assert not any(h.startswith("LGCP_") for h in helpers), sorted(helpers)
    unset = read - names
    assert unset == LISTENER_LEFT_TO_DEFAULTS, (
        f"lgcp-listener reads {sorted(unset - LISTENER_LEFT_TO_DEFAULTS)}, "
        f"which the chart never sets; no longer read or now set: {sorted(LISTENER_LEFT_TO_DEFAULTS - unset)}"
    )


def test_the_pods_run_with_the_installed_release_secrets(demo):
    """The API in the cluster accepts the release Secret's admin key through the ingress and refuses
    another; the listener pod, configured the same way, has registered under the chart's compute id."""
    release = demo.release
    key = {"X-Api-Key": release.admin_key}
    assert httpx.get(f"{release.api_url}/v2/deployments", headers=key, timeout=10).status_code == 200
    assert (
        httpx.get(f"{release.api_url}/v2/deployments", headers={"X-Api-Key": "not-the-key"}, timeout=10).status_code
        == 401
    )
    listeners = httpx.get(f"{release.api_url}/v2/listeners", headers=key, timeout=10).json()["resources"]
    assert release.compute_id in [item["compute_id"] for item in listeners]
    # Agents get a namespace of their own (the chart creates it, enforcing "restricted"), apart
    # from the release namespace and the chart's Secrets in it.
    agents = f"{release.config.namespace}-agents"
    assert release.chart.container("Deployment", "listener").env["LGCP_LISTENER_NAMESPACES"] == agents
    labels = release.node.kubectl("get", "namespace", agents, "-o", "jsonpath={.metadata.labels}").stdout
    assert json.loads(labels)["pod-security.kubernetes.io/enforce"] == "restricted"
