"""/v2/deployments: create, read, list, patch, delete, with the contract's validation."""

from __future__ import annotations

import uuid

import pytest
from api_support import deployment_body


async def test_create_answers_201_with_the_contract_fields_and_a_first_revision(admin, listener):
    response = await admin.post("/deployments", json=deployment_body(listener["id"]))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "tenant_id",
        "name",
        "source",
        "source_config",
        "source_revision_config",
        "secrets",
        "secret_references",
        "status",
        "latest_revision_id",
        "active_revision_id",
        "image_version",
        "created_at",
        "updated_at",
    }
    assert body["name"] == "my-agent"
    assert body["status"] == "AWAITING_DATABASE"
    assert body["secrets"] == [{"name": "OPENAI_API_KEY"}]
    assert body["image_version"] == "1.0.0"
    assert body["active_revision_id"] is None
    assert body["source_config"]["resource_spec"]["cpu_limit"] == 0.5
    assert response.headers["ETag"]
    revisions = (await admin.get(f"/deployments/{body['id']}/revisions")).json()["resources"]
    assert [r["id"] for r in revisions] == [body["latest_revision_id"]]
    assert revisions[0]["status"] == "QUEUED"


async def test_get_returns_the_deployment_with_its_etag(admin, deployment):
    response = await admin.get(f"/deployments/{deployment['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == deployment["id"]
    assert response.headers["ETag"] == '"1"'


async def test_get_unknown_deployment_is_404(admin):
    response = await admin.get(f"/deployments/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"detail": "deployment not found"}


async def test_duplicate_name_in_a_tenant_is_409(admin, listener, deployment):
    response = await admin.post("/deployments", json=deployment_body(listener["id"]))
    assert response.status_code == 409
    assert "my-agent" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [
        ({"name": "My_Agent"}, ["body", "name"], "DNS label"),
        ({"name": "a" * 41}, ["body", "name"], "at most 40"),
        (
            {"source_revision_config": {"image_uri": "not a/valid::image"}},
            ["body", "source_revision_config", "image_uri"],
            "image reference",
        ),
        ({"secrets": [{"name": "DATABASE_URI", "value": "x"}]}, ["body", "secrets", 0, "name"], "set by the platform"),
        ({"secrets": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}, ["body"], "more than once"),
        (
            {"secret_references": [{"name": "PORT", "secret_name": "s", "secret_key": "k"}]},
            ["body", "secret_references", 0, "name"],
            "set by the platform",
        ),
    ],
)
async def test_invalid_create_names_the_field_and_stores_nothing(admin, listener, change, loc, message):
    response = await admin.post("/deployments", json=deployment_body(listener["id"], **change))
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(e["loc"] == loc and message in e["msg"] for e in errors), errors
    assert (await admin.get("/deployments")).json()["resources"] == []


@pytest.mark.parametrize(
    ("spec", "loc", "message"),
    [
        ({"min_scale": 3, "max_scale": 2}, ["body", "source_config", "resource_spec"], "min_scale"),
        ({"cpu": 2, "cpu_limit": 1}, ["body", "source_config", "resource_spec"], "cpu_limit"),
        ({"memory_mb": 1024, "memory_limit_mb": 512}, ["body", "source_config", "resource_spec"], "memory_limit_mb"),
        ({"labels": {"app.kubernetes.io/name": "x"}}, ["body", "source_config", "resource_spec", "labels"], "reserved"),
        ({"labels": {"lgcp.dev/deployment-id": "x"}}, ["body", "source_config", "resource_spec", "labels"], "reserved"),
        ({"replicas": 3}, ["body", "source_config", "resource_spec", "replicas"], "Extra inputs"),
    ],
)
async def test_resource_spec_bounds_are_checked(admin, listener, spec, loc, message):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"] = spec
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(e["loc"] == loc and message in e["msg"] for e in errors), errors


async def test_unknown_listener_and_foreign_namespace_are_400_naming_the_field(admin, listener):
    # Rules over a well-formed body answer 400 with a string detail (issue 17: langgraph-cli
    # shows a string detail only); the field comes first, dotted.
    body = deployment_body(str(uuid.uuid4()))
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 400
    assert response.json()["detail"] == "source_config.listener_id: no such listener in this tenant"
    body = deployment_body(listener["id"])
    body["source_config"]["listener_config"]["k8s_namespace"] = "elsewhere"
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("source_config.listener_config.k8s_namespace: not a namespace")


async def test_list_pages_with_limit_and_offset(admin, listener):
    for i in range(5):
        assert (await admin.post("/deployments", json=deployment_body(listener["id"], f"agent-{i}"))).status_code == 201
    first = (await admin.get("/deployments", params={"limit": 2})).json()
    second = (await admin.get("/deployments", params={"limit": 2, "offset": first["offset"]})).json()
    third = (await admin.get("/deployments", params={"limit": 2, "offset": second["offset"]})).json()
    names = [d["name"] for page in (first, second, third) for d in page["resources"]]
    assert names == [f"agent-{i}" for i in range(4, -1, -1)]
    assert (first["offset"], second["offset"], third["offset"]) == (2, 4, 5)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
async def test_paging_bounds_are_422(admin, params):
    response = await admin.get("/deployments", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_list_filters(admin, listener):
    ids = {}
    for name, tag in (("alpha", "1.0"), ("beta", "2.0"), ("alphabet", "2.0")):
        body = deployment_body(listener["id"], name)
        body["source_revision_config"]["image_uri"] = f"registry.example.com/a:{tag}"
        ids[name] = (await admin.post("/deployments", json=body)).json()["id"]

    async def names(**params) -> set[str]:
        response = await admin.get("/deployments", params=params)
        assert response.status_code == 200, response.text
        return {d["name"] for d in response.json()["resources"]}

    assert await names(name="alpha") == {"alpha"}
    assert await names(name_contains="alpha") == {"alpha", "alphabet"}
    assert await names(image_version="2.0") == {"beta", "alphabet"}
    assert await names(status="AWAITING_DATABASE") == {"alpha", "beta", "alphabet"}
    assert await names(status="READY") == set()
    assert await names(deployment_ids=f"{ids['alpha']},{ids['beta']}") == {"alpha", "beta"}
    bad = await admin.get("/deployments", params={"deployment_ids": "nope"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "deployment_ids"]


async def test_patch_image_creates_a_revision_and_other_fields_do_not(admin, deployment):
    url = f"/deployments/{deployment['id']}"
    response = await admin.patch(url, json={"source_config": {"custom_url": "https://agent.example.com"}})
    assert response.status_code == 200
    assert response.json()["latest_revision_id"] == deployment["latest_revision_id"]
    assert response.json()["source_config"]["custom_url"] == "https://agent.example.com"
    response = await admin.patch(
        url, json={"source_revision_config": {"image_uri": "registry.example.com/team/agent:2.0.0"}}
    )
    assert response.status_code == 200
    patched = response.json()
    assert patched["latest_revision_id"] != deployment["latest_revision_id"]
    assert patched["image_version"] == "2.0.0"
    assert patched["secrets"] == [{"name": "OPENAI_API_KEY"}]


async def test_patch_resource_spec_merges_and_limits_follow_requests(admin, deployment):
    url = f"/deployments/{deployment['id']}"
    response = await admin.patch(url, json={"source_config": {"resource_spec": {"cpu": 2, "max_scale": 5}}})
    assert response.status_code == 200, response.text
    spec = response.json()["source_config"]["resource_spec"]
    assert (spec["cpu"], spec["cpu_limit"], spec["max_scale"], spec["memory_mb"]) == (2, 2, 5, 512)
    # The merged spec breaking a rule is a refusal of a well-formed PATCH: 400, string detail.
    bad = await admin.patch(url, json={"source_config": {"resource_spec": {"min_scale": 9}}})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "source_config.resource_spec: min_scale must not exceed max_scale"


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"name": "renamed"}, "name"),
        ({"source_config": {"listener_id": str(uuid.uuid4())}}, "source_config.listener_id"),
        (
            {"source_config": {"listener_config": {"k8s_namespace": "team-b"}}},
            "source_config.listener_config.k8s_namespace",
        ),
    ],
)
async def test_immutable_fields_are_400_and_change_nothing(admin, deployment, patch, loc):
    url = f"/deployments/{deployment['id']}"
    response = await admin.patch(url, json=patch)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{loc}: ")
    assert (await admin.get(url)).json() == deployment


@pytest.mark.parametrize("listener_config", [{}, {"k8s_namespace": None}])
async def test_patch_without_a_namespace_does_not_move_the_deployment(admin, deployment, listener_config):
    url = f"/deployments/{deployment['id']}"
    response = await admin.patch(url, json={"source_config": {"listener_config": listener_config}})
    assert response.status_code == 200, response.text
    assert response.json()["source_config"]["listener_config"] == deployment["source_config"]["listener_config"]


async def test_delete_marks_awaiting_delete_and_blocks_changes(admin, deployment):
    url = f"/deployments/{deployment['id']}"
    assert (await admin.delete(url)).status_code == 204
    assert (await admin.get(url)).json()["status"] == "AWAITING_DELETE"
    assert (await admin.delete(url)).status_code == 204
    response = await admin.patch(url, json={"source_revision_config": {"image_uri": "r.io/a:2"}})
    assert response.status_code == 409


async def test_bulk_delete_answers_207_on_partial_failure(admin, listener):
    a = (await admin.post("/deployments", json=deployment_body(listener["id"], "a"))).json()
    b = (await admin.post("/deployments", json=deployment_body(listener["id"], "b"))).json()
    response = await admin.delete("/deployments", params={"deployment_ids": [a["id"], b["id"]]})
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["resources"]} == {204}
    missing = str(uuid.uuid4())
    c = (await admin.post("/deployments", json=deployment_body(listener["id"], "c"))).json()
    response = await admin.delete("/deployments", params={"deployment_ids": [c["id"], missing]})
    assert response.status_code == 207
    results = {r["id"]: r["status"] for r in response.json()["resources"]}
    assert results == {c["id"]: 204, missing: 404}
    assert (await admin.get(f"/deployments/{c['id']}")).json()["status"] == "AWAITING_DELETE"


async def test_oversized_body_is_413_and_stores_nothing(admin, listener):
    body = deployment_body(listener["id"])
    body["secrets"] = [{"name": f"S{i}", "value": "x" * 60_000} for i in range(20)]
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 413
    assert (await admin.get("/deployments")).json()["resources"] == []


async def test_forced_delete_forgets_at_once_and_is_admin_only(admin, role_client, deployment):
    url = f"/deployments/{deployment['id']}"
    deployer = await role_client("deployer")
    assert (await deployer.delete(url, params={"force": "true"})).status_code == 403
    assert (await admin.get(url)).json()["status"] == "AWAITING_DATABASE"
    assert (await admin.delete(url, params={"force": "true"})).status_code == 204
    assert (await admin.get(url)).status_code == 404
    assert (await admin.get(f"{url}/revisions")).status_code == 404
