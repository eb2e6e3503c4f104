"""What issue 17 adds to an agent's rendering: `custom_url` routed (a second host on the route,
TLS from a named Secret) and one LangSmith tracing project per agent."""

from __future__ import annotations

from typing import Any

import pytest
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.configuration import PlatformEnv, RouteConfig
from lgcp_listener.objects import Manifest
from lgcp_listener.render.agent import render
from lgcp_listener.render.context import AgentConnections, RenderContext

CONN = AgentConnections("postgresql://u:pw@pg:5432/db", "redis://r:6379/3")
INGRESS = RouteConfig("ls.example.com", "/base", "ingress", "nginx", "tls-cert")
GATEWAY = RouteConfig("ls.example.com", "", "gateway", gateway_name="gw", gateway_namespace="infra")


def ctx(route: RouteConfig = INGRESS, api_key: str | None = "ls-key") -> RenderContext:
    return RenderContext("cid", route, PlatformEnv("https://ls.example.com/api", api_key, None))


def desired(custom_url: str | None = None, **overrides: Any) -> DesiredDeployment:
    data = {
        "id": "d1",
        "name": "agent",
        "namespace": "agents",
        "source_config": {"custom_url": custom_url, "resource_spec": {"cpu": 0.5, "memory_mb": 512}},
        "secrets": [],
        "secret_references": [],
        "revision": {"id": "r1", "image_uri": "registry/agent:1", "status": "QUEUED"},
    }
    data.update(overrides)
    return DesiredDeployment.model_validate(data)


def kind(objects: list[Manifest], name: str) -> Manifest:
    return next(o for o in objects if o["kind"] == name)


def env_of(objects: list[Manifest]) -> dict[str, str]:
    container = kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_an_https_custom_url_is_a_second_host_with_its_own_tls_secret() -> None:
    ingress = kind(render(desired("https://agent.example.org"), CONN, ctx()), "Ingress")
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert hosts == ["ls.example.com", "agent.example.org"]
    assert ingress["spec"]["rules"][1]["http"] == ingress["spec"]["rules"][0]["http"]  # same agent, same path
    assert ingress["spec"]["tls"] == [
        {"hosts": ["ls.example.com"], "secretName": "tls-cert"},
        {"hosts": ["agent.example.org"], "secretName": "agent-custom-url-tls"},
    ]


def test_an_http_custom_url_gets_no_tls_and_no_custom_url_changes_nothing() -> None:
    ingress = kind(render(desired("http://agent.internal:8080/x"), CONN, ctx()), "Ingress")
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["ls.example.com", "agent.internal"]
    assert ingress["spec"]["tls"] == [{"hosts": ["ls.example.com"], "secretName": "tls-cert"}]
    plain = kind(render(desired(None), CONN, ctx()), "Ingress")
    assert [r["host"] for r in plain["spec"]["rules"]] == ["ls.example.com"]
    same = kind(render(desired("https://ls.example.com"), CONN, ctx()), "Ingress")
    assert len(same["spec"]["rules"]) == 1


def test_the_gateway_route_answers_the_custom_hostname_too() -> None:
    route = kind(render(desired("https://agent.example.org"), CONN, ctx(GATEWAY)), "HTTPRoute")
    assert route["spec"]["hostnames"] == ["ls.example.com", "agent.example.org"]


def test_each_agent_traces_to_a_project_named_after_it() -> None:
    env = env_of(render(desired(), CONN, ctx()))
    assert env["LANGSMITH_PROJECT"] == "agent" and env["LANGSMITH_TRACING"] == "true"


def test_no_langsmith_key_no_tracing() -> None:
    env = env_of(render(desired(), CONN, ctx(api_key=None)))
    assert "LANGSMITH_TRACING" not in env and env["LANGSMITH_PROJECT"] == "agent"


@pytest.mark.parametrize(
    "user",
    [
        {"secrets": [{"name": "LANGSMITH_PROJECT", "value": "team-project"}]},
        {"secret_references": [{"name": "LANGSMITH_PROJECT", "secret_name": "s", "secret_key": "k"}]},
    ],
)
def test_a_users_project_wins(user: dict[str, Any]) -> None:
    objects = render(desired(**user), CONN, ctx())
    container = kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    plain = [e for e in container["env"] if e["name"] == "LANGSMITH_PROJECT" and "value" in e]
    assert plain == []  # a plain value would override the user's (env wins over envFrom)
