"""The chart's listener Roles grant exactly the rules services/listener/README.md documents
(the blocks that tests/listener/test_rbac.py proves sufficient by running the listener with them):
the namespace and Lease Roles, plus the additional rules of dedicated database mode in that mode only."""

from __future__ import annotations

import re

import pytest
import yaml
from chart_commands import REPO, render

LEASE = "lgcp-langgraph-controlplane-listener"


def normalised(rules: list[dict]) -> set[tuple]:
    return {
        (tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r.get("resourceNames", [])), tuple(sorted(r["verbs"])))
        for r in rules
    }


def documented_roles(gateway: bool, dedicated: bool = False) -> dict[str, set[tuple]]:
    text = (REPO / "services" / "listener" / "README.md").read_text()
    block = re.search(r"<!-- rbac:begin -->\s*```yaml\n(.*?)```\s*<!-- rbac:end -->", text, re.S)
    assert block, "services/listener/README.md has no rbac block"
    roles = [d for d in yaml.safe_load_all(block.group(1)) if d]
    if dedicated:
        extra = re.search(
            r"<!-- rbac-dedicated:begin -->\s*```yaml\n(.*?)```\s*<!-- rbac-dedicated:end -->", text, re.S
        )
        assert extra, "services/listener/README.md has no rbac-dedicated block"
        next(r for r in roles if r["metadata"]["name"] == "lgcp-listener")["rules"] += yaml.safe_load(extra.group(1))
    by_kind = {}
    for role in roles:
        rules = role["rules"]
        for rule in rules:
            rule["resourceNames"] = [LEASE if n == "LEASE_NAME" else n for n in rule.get("resourceNames", [])]
            # The README: "with gateway routing, httproutes instead of ingresses".
            if gateway and rule["resources"] == ["ingresses"]:
                rule["apiGroups"], rule["resources"] = ["gateway.networking.k8s.io"], ["httproutes"]
        by_kind["lease" if any(r["resources"] == ["leases"] for r in rules) else "namespace"] = normalised(rules)
    return by_kind


@pytest.mark.parametrize("mode", ["shared", "dedicated", "external"])
@pytest.mark.parametrize("gateway", [False, True], ids=["ingress", "gateway"])
def test_chart_roles_equal_the_documented_rbac(gateway: bool, mode: str) -> None:
    args = ["--set", "langsmith.hostname=langsmith.example.com", "--set", f"listener.database.mode={mode}"]
    if mode == "external":
        args += ["--set", "listener.database.externalTemplatesSecret=agent-templates"]
    if gateway:
        args += [
            "--set",
            "langsmith.ingress.enabled=false",
            "--set",
            "langsmith.gateway.enabled=true",
            "--set",
            "langsmith.gateway.name=gw",
        ]
    roles = [d for d in render("helm", *args) if d["kind"] == "Role"]
    chart = {
        ("lease" if d["metadata"]["name"].endswith("-lease") else "namespace"): normalised(d["rules"]) for d in roles
    }
    assert chart == documented_roles(gateway, dedicated=mode == "dedicated")
