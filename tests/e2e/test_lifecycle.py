"""A user's whole journey through the API of the installed chart: create, update, roll back, a broken
image, `helm upgrade` of the control plane, delete; checked against what the cluster then holds."""

from __future__ import annotations

import pytest

from e2e_support import (agent_env, agent_objects, create, database_exists, database_name, eventually, get,
                         running_images, wait_revision)

pytestmark = pytest.mark.cluster


def expected_objects(namespace: str, name: str, min_scale: int, max_scale: int) -> set[tuple[str, str, str]]:
    """The design's list: Secret, Deployment, Service, Ingress; an HPA when it can scale; a PDB when min_scale > 1."""
    objects = {("Secret", namespace, f"{name}-env"), ("Deployment", namespace, name), ("Service", namespace, name),
               ("Ingress", namespace, name)}
    if max_scale > min_scale:
        objects.add(("HorizontalPodAutoscaler", namespace, name))
    if min_scale > 1:
        objects.add(("PodDisruptionBudget", namespace, name))
    return objects


@pytest.mark.parametrize("min_scale, max_scale", [(1, 2), (2, 3), (1, 1)])
def test_a_deployment_reaches_deployed_with_exactly_the_designed_objects(stack, api, min_scale, max_scale):
    deployment = create(api, stack, "registry.local/agent:1", min_scale, max_scale, OPENAI_API_KEY="sk-e2e")
    revision = wait_revision(api, deployment, "DEPLOYED")
    # The chart's default: a namespace of their own beside the release's, never the release's.
    namespace, name = f"{stack.config.namespace}-agents", deployment["name"]
    assert stack.agents_namespace == namespace

    assert agent_objects(stack, deployment) == expected_objects(namespace, name, min_scale, max_scale)
    ingress = get(stack, "ingress", name)["spec"]
    # The route is on the LangSmith host of values/local.yaml, with its ingress class.
    assert ingress["ingressClassName"] == "nginx"
    (rule,) = ingress["rules"]
    assert rule["host"] == "langsmith.local"
    assert [p["path"] for p in rule["http"]["paths"]] == [f"/lgp/{name}"]
    if max_scale > min_scale:
        hpa = get(stack, "hpa", name)["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (min_scale, max_scale)
    if min_scale > 1:
        assert get(stack, "pdb", name)["spec"]["maxUnavailable"] == 1
    # With an HPA the listener leaves `replicas` to it, and the HPA raises a new Deployment to
    # min_scale within its sync period.
    eventually(lambda: running_images(stack, deployment) == ["registry.local/agent:1"] * min_scale,
               f"{min_scale} ready pods")
    env = agent_env(stack, deployment)
    assert env["OPENAI_API_KEY"] == "sk-e2e"
    assert database_exists(stack, database_name(env))
    shown = api.get(f"/deployments/{deployment['id']}").json()
    assert shown["active_revision_id"] == revision["id"]
    assert "sk-e2e" not in str(shown)  # secret values are write-only


def test_update_rollback_broken_image_control_plane_upgrade_and_delete(stack, api):
    deployment = create(api, stack, "registry.local/agent:1", SETTING="one")
    first = wait_revision(api, deployment, "DEPLOYED")
    path = f"/deployments/{deployment['id']}"

    # Update image and secrets: a new revision deploys; the first is no longer the active one.
    response = api.patch(path, json={"source_revision_config": {"image_uri": "registry.local/agent:2"},
                                     "secrets": [{"name": "SETTING", "value": "two"}]})
    assert response.status_code == 200, response.text
    second = wait_revision(api, deployment, "DEPLOYED")
    assert second["id"] != first["id"]
    assert api.get(path).json()["active_revision_id"] == second["id"]
    eventually(lambda: running_images(stack, deployment) == ["registry.local/agent:2"], "pods on image 2")
    assert agent_env(stack, deployment)["SETTING"] == "two"

    # Rollback: redeploying the first revision brings back its image and its secrets.
    response = api.post(f"{path}/revisions/{first['id']}/redeploy")
    assert response.status_code == 201, response.text
    rollback = wait_revision(api, deployment, "DEPLOYED", response.json()["id"])
    assert api.get(path).json()["active_revision_id"] == rollback["id"]
    eventually(lambda: running_images(stack, deployment) == ["registry.local/agent:1"], "pods back on image 1")
    assert agent_env(stack, deployment)["SETTING"] == "one"

    # A broken image fails with a reason; the revision before it keeps serving.
    response = api.patch(path, json={"source_revision_config": {"image_uri": "registry.local/lgcp-fail-image-pull:3"}})
    assert response.status_code == 200, response.text
    broken = wait_revision(api, deployment, "DEPLOY_FAILED")
    assert "image pull" in broken["status_message"]
    assert api.get(path).json()["active_revision_id"] == rollback["id"]
    assert running_images(stack, deployment) == ["registry.local/agent:1"]
    assert get(stack, "deployment", deployment["name"])["status"].get("availableReplicas", 0) >= 1

    # `helm upgrade` of the control plane (a changed value rolls its pods), with the API and the
    # listener restarted on the upgraded release's environment: nothing is lost.
    def revisions() -> list[tuple[str, str, str]]:
        # Statuses may move meanwhile (the restarted listener retries the failed revision).
        return [(r["id"], r["source_revision_config"]["image_uri"], r["created_at"])
                for r in api.get(f"{path}/revisions", params={"limit": 100}).json()["resources"]]
    revisions_before = revisions()
    listed_before = {d["id"] for d in api.get("/deployments", params={"limit": 100}).json()["resources"]}
    stack.upgrade("listener.resyncSeconds=5")
    assert stack.service_env("listener")["LGCP_LISTENER_RESYNC_SECONDS"] == "5"
    assert revisions() == revisions_before and len(revisions_before) == 4
    assert {d["id"] for d in api.get("/deployments", params={"limit": 100}).json()["resources"]} == listed_before
    assert running_images(stack, deployment) == ["registry.local/agent:1"]
    # ... and both keep working: a fixed image deploys through the restarted processes.
    response = api.patch(path, json={"source_revision_config": {"image_uri": "registry.local/agent:4"}})
    assert response.status_code == 200, response.text
    fixed = wait_revision(api, deployment, "DEPLOYED")
    assert api.get(path).json()["active_revision_id"] == fixed["id"]
    eventually(lambda: running_images(stack, deployment) == ["registry.local/agent:4"], "pods on image 4")

    # Delete: every object and the agent's database are gone, and the API forgets it.
    database = database_name(agent_env(stack, deployment))
    assert database_exists(stack, database)
    assert api.delete(path).status_code == 204
    eventually(lambda: api.get(path).status_code == 404, "the API forgetting the deployment")
    eventually(lambda: agent_objects(stack, deployment) == set(), "every object of the agent being deleted")
    eventually(lambda: running_images(stack, deployment) == [], "the agent's pods being gone")
    assert not database_exists(stack, database)
