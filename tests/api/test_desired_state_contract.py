"""One contract: the desired state the API really answers is what the listener's read models
(`lgcp_contract.desired_state`) read, field for field."""

from __future__ import annotations

from typing import Any

from api_support import deployment_body
from lgcp_contract.desired_state import DesiredState
from pydantic import BaseModel


def _missing_fields(model: type[BaseModel], answer: Any, where: str) -> list[str]:
    """Every field the read model declares that the answer lacks (a listener would silently
    read its default), searched through nested models and lists of them."""
    if not isinstance(answer, dict):
        return []
    missing = []
    for name, field in model.model_fields.items():
        if name not in answer:
            missing.append(f"{where}.{name}")
            continue
        value, annotation = answer[name], field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            nested = getattr(candidate, "__args__", (candidate,))[-1] if isinstance(value, list) else candidate
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                for item in value if isinstance(value, list) else [value]:
                    missing += _missing_fields(nested, item, f"{where}.{name}")
    return missing


async def test_the_desired_state_the_api_answers_is_what_the_listener_reads(admin, listener, role_client):
    full = deployment_body(
        listener["id"],
        "full-agent",
        secret_references=[{"name": "DB_PASSWORD", "secret_name": "db", "secret_key": "password"}],
    )
    full["source_config"]["custom_url"] = "https://agent.example.com"
    full["source_config"]["resource_spec"].update(
        labels={"team": "a"},
        annotations={"note": "x"},
        image_pull_secrets=["registry"],
        service_account_name="agent",
        cpu_limit=1.5,
        memory_limit_mb=1024,
    )
    created = (await admin.post("/deployments", json=full)).json()
    bare = deployment_body(listener["id"], "bare-agent", secrets=[])
    bare["source_config"].pop("listener_config")
    leaving = (await admin.post("/deployments", json=bare)).json()
    assert (await admin.delete(f"/deployments/{leaving['id']}")).status_code == 204

    client = await role_client("listener")
    answer = (await client.get(f"/listener-api/listeners/{listener['id']}/desired-state")).json()
    assert _missing_fields(DesiredState, answer, "desired-state") == []
    state = DesiredState.model_validate(answer)

    assert state.listener_id == listener["id"]
    by_name = {d.name: d for d in state.deployments}
    assert set(by_name) == {"full-agent", "bare-agent"}
    agent = by_name["full-agent"]
    assert agent.id == created["id"] and agent.namespace == "agents" and not agent.deleting
    assert [(s.name, s.value.get_secret_value()) for s in agent.secrets] == [("OPENAI_API_KEY", "sk-very-secret-value")]
    assert [r.model_dump() for r in agent.secret_references] == full["secret_references"]
    assert agent.source_config.custom_url == "https://agent.example.com"
    assert agent.revision is not None
    assert agent.revision.id == created["latest_revision_id"] and agent.revision.status == "QUEUED"
    assert agent.revision.image_uri == full["source_revision_config"]["image_uri"]
    spec = agent.resource_spec
    assert (spec.min_scale, spec.max_scale, spec.autoscaled) == (1, 2, True)
    assert (float(spec.cpu or 0), float(spec.cpu_limit or 0)) == (0.5, 1.5)
    assert (spec.memory_mb, spec.memory_limit_mb) == (512, 1024)
    assert (spec.labels, spec.annotations) == ({"team": "a"}, {"note": "x"})
    assert (spec.image_pull_secrets, spec.service_account_name) == (["registry"], "agent")

    gone = by_name["bare-agent"]
    assert gone.deleting and gone.status == "AWAITING_DELETE" and gone.namespace == "agents"
    assert gone.secrets == [] and gone.secret_references == []
    assert gone.resource_spec.labels == {} and gone.resource_spec.cpu_limit == 0.5  # limits follow requests

    partial = await client.get(
        f"/listener-api/listeners/{listener['id']}/desired-state", params={"deployment_id": created["id"]}
    )
    assert [d.name for d in DesiredState.model_validate(partial.json()).deployments] == ["full-agent"]
