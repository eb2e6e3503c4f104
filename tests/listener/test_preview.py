"""The manifests preview the listener reports: Secret values redacted, reported only on change (pure)."""

import base64
import json

from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.configuration import PlatformEnv, RouteConfig
from lgcp_listener.render.agent import render
from lgcp_listener.render.context import AgentConnections, RenderContext
from lgcp_listener.render.preview import REDACTED, preview_hash, redacted

SECRETS = {
    "OPENAI_API_KEY": "sk-user-secret-1",
    "ANTHROPIC_API_KEY": "sk-user-secret-2",
    "db-password": "pg-password-3",
    "LANGSMITH_API_KEY": "ls-platform-key-4",
    "LICENSE": "license-key-5",
}
CONN = AgentConnections(f"postgresql://agent:{SECRETS['db-password']}@pg:5432/db", "redis://:redispass-6@r:6379/3")
CTX = RenderContext(
    "cid",
    RouteConfig("ls.example.com", "", "ingress", "nginx", "tls-cert"),
    PlatformEnv("https://ls.example.com/api", SECRETS["LANGSMITH_API_KEY"], SECRETS["LICENSE"]),
)


def desired(value: str = SECRETS["OPENAI_API_KEY"], revision: str = "r1") -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": "d1",
            "name": "agent",
            "namespace": "agents",
            "source_config": {"resource_spec": {"min_scale": 2, "max_scale": 3}},
            "secrets": [
                {"name": "OPENAI_API_KEY", "value": value},
                {"name": "ANTHROPIC_API_KEY", "value": SECRETS["ANTHROPIC_API_KEY"]},
            ],
            "revision": {"id": revision, "image_uri": "registry/agent:1", "status": "QUEUED"},
        }
    )


def test_every_secret_value_is_redacted_and_every_key_kept() -> None:
    objects = render(desired(), CONN, CTX)
    # A stringData block too: whatever a Secret carries, no value may leave.
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "extra"},
            "stringData": {"TOKEN": "plain-token-7"},
            "data": {"K": base64.b64encode(b"v-8").decode()},
        }
    )
    report = redacted(objects)
    text = json.dumps(report)
    for value in [*SECRETS.values(), "redispass-6", "plain-token-7", "v-8"]:
        assert value not in text, value
        assert base64.b64encode(value.encode()).decode() not in text, value
    secrets = [obj for obj in report if obj["kind"] == "Secret"]
    assert len(secrets) == 2
    assert set(secrets[0]["data"]) == {
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "DATABASE_URI",
        "POSTGRES_URI",
        "REDIS_URI",
        "LANGSMITH_API_KEY",
        "LANGGRAPH_CLOUD_LICENSE_KEY",
    }
    assert set(secrets[0]["data"].values()) == {REDACTED}
    assert secrets[1]["stringData"] == {"TOKEN": REDACTED} and secrets[1]["data"] == {"K": REDACTED}
    # Everything else is exactly what is applied, and the input itself is left alone.
    assert [o for o in report if o["kind"] != "Secret"] == [o for o in objects if o["kind"] != "Secret"]
    assert [o["kind"] for o in report] == [
        "Secret",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Secret",
    ]
    assert base64.b64decode(objects[0]["data"]["OPENAI_API_KEY"]).decode() == SECRETS["OPENAI_API_KEY"]


def test_hash_changes_only_with_the_rendering_or_the_revision() -> None:
    same = preview_hash("r1", render(desired(), CONN, CTX))
    assert preview_hash("r1", render(desired(), CONN, CTX)) == same
    # A new secret value is a new rendering (its hash is stamped on the objects), though the
    # redacted report looks alike apart from that stamp.
    assert preview_hash("r1", render(desired("sk-rotated"), CONN, CTX)) != same
    assert preview_hash("r2", render(desired(revision="r2"), CONN, CTX)) != same
