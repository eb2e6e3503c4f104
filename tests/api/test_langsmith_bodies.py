"""Request bodies as LangSmith's v2 reference and langgraph-cli send them (issue 17): every
resource_spec field of the reference accepted, pull secrets in both shapes, refusals whose
`detail` is a string naming the field."""

from __future__ import annotations

import pytest
from api_support import deployment_body

# A resource_spec with every field of the v2 reference's create/patch/get pages
# (docs.langchain.com/api-reference/deployments-v2/*: the `resource_spec` of the request and
# response examples), plus `redis_cpu`, `redis_cpu_limit` and `redis_memory_limit_mb`, which this
# API has accepted since before the reference's current edition (it lists `redis_memory_mb` only).
REFERENCE_SPEC = {
    "min_scale": 1,
    "max_scale": 2,
    "cpu": 0.5,
    "cpu_limit": 1,
    "memory_mb": 512,
    "memory_limit_mb": 1024,
    "queue_min_scale": 1,
    "queue_max_scale": 3,
    "queue_cpu": 0.5,
    "queue_cpu_limit": 1,
    "queue_memory_mb": 512,
    "queue_memory_limit_mb": 1024,
    "orchestrator_cpu": 1,
    "orchestrator_cpu_limit": 1,
    "orchestrator_memory_mb": 512,
    "orchestrator_memory_limit_mb": 512,
    "orchestrator_min_scale": 1,
    "orchestrator_max_scale": 1,
    "executor_cpu": 1,
    "executor_cpu_limit": 1,
    "executor_memory_mb": 512,
    "executor_memory_limit_mb": 512,
    "redis_cpu": 0.1,
    "redis_cpu_limit": 0.2,
    "redis_memory_mb": 256,
    "redis_memory_limit_mb": 256,
    "labels": {"team": "search"},
    "annotations": {"example.com/owner": "search"},
    "service_account_name": "agent",
    "image_pull_secrets": [{"name": "regcred"}],
    "volumes": [{"name": "cache", "emptyDir": {}}],
    "volume_mounts": [{"name": "cache", "mountPath": "/cache", "readOnly": False}],
    "init_containers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
    "sidecars": [{"name": "proxy", "image": "envoyproxy/envoy:v1.31.0"}],
    "db_cpu": 0.5,
    "db_cpu_limit": 1,
    "db_memory_mb": 1024,
    "db_memory_limit_mb": 2048,
    "db_storage_gi": 20,
    "db_max_connections": 100,
}

# The fields of the create-side spec that have a default other than null: an explicit null
# (the reference declares every field nullable) takes that default.
DEFAULTS = {
    "min_scale": 1,
    "max_scale": 1,
    "cpu": 1,
    "cpu_limit": 1,
    "memory_mb": 1024,
    "memory_limit_mb": 1024,
    "labels": {},
    "annotations": {},
    "image_pull_secrets": [],
}


async def test_every_reference_field_is_accepted_stored_and_answered(admin, listener):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"] = REFERENCE_SPEC
    created = await admin.post("/deployments", json=body)
    assert created.status_code == 201, created.text
    answered = created.json()["source_config"]["resource_spec"]
    assert answered == REFERENCE_SPEC
    fetched = (await admin.get(f"/deployments/{created.json()['id']}")).json()
    assert fetched["source_config"]["resource_spec"] == REFERENCE_SPEC


@pytest.mark.parametrize("secrets", [["regcred", "mirror"], [{"name": "regcred"}, {"name": "mirror"}]])
async def test_pull_secrets_in_either_shape_are_answered_as_objects(admin, listener, secrets):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"]["image_pull_secrets"] = secrets
    created = await admin.post("/deployments", json=body)
    assert created.status_code == 201, created.text
    expected = [{"name": "regcred"}, {"name": "mirror"}]
    assert created.json()["source_config"]["resource_spec"]["image_pull_secrets"] == expected
    url = f"/deployments/{created.json()['id']}"
    patched = await admin.patch(
        url, json={"source_config": {"resource_spec": {"image_pull_secrets": [{"name": "new"}]}}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["source_config"]["resource_spec"]["image_pull_secrets"] == [{"name": "new"}]
    # The listener reads the same names from the new revision's desired state.
    revisions = (await admin.get(f"{url}/revisions")).json()["resources"]
    assert revisions[0]["resource_spec"]["image_pull_secrets"] == [{"name": "new"}]


async def test_a_bad_pull_secret_name_is_refused_naming_it(admin, listener):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"]["image_pull_secrets"] = [{"name": "Not_A_Name"}]
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["detail"]]
    assert ["body", "source_config", "resource_spec", "image_pull_secrets", 0, "name"] in locs


async def test_explicit_nulls_are_taken_as_the_defaults(admin, listener):
    left_out = deployment_body(listener["id"], name="left-out")
    left_out["source_config"]["resource_spec"] = {}
    nulls = deployment_body(listener["id"], name="all-null")
    nulls["source_config"]["resource_spec"] = dict.fromkeys(REFERENCE_SPEC)
    expected = await admin.post("/deployments", json=left_out)
    created = await admin.post("/deployments", json=nulls)
    assert created.status_code == 201, created.text
    answered = created.json()["source_config"]["resource_spec"]
    assert answered == expected.json()["source_config"]["resource_spec"]
    assert {k: answered[k] for k in DEFAULTS} == DEFAULTS
    assert all(answered.get(k) is None for k in REFERENCE_SPEC if k not in DEFAULTS), answered
    # The revision the listener reads carries the same defaults.
    revisions = (await admin.get(f"/deployments/{created.json()['id']}/revisions")).json()["resources"]
    assert {k: revisions[0]["resource_spec"][k] for k in DEFAULTS} == DEFAULTS


async def test_a_null_in_a_patch_puts_the_field_back_to_its_default(admin, listener):
    body = deployment_body(listener["id"])
    # The limit set apart from the request (2 against 0.5), so that it cannot follow the request.
    body["source_config"]["resource_spec"] = REFERENCE_SPEC | {"cpu_limit": 2}
    created = (await admin.post("/deployments", json=body)).json()
    nulls = {"min_scale": None, "max_scale": None, "labels": None, "db_storage_gi": None, "cpu": None}
    patched = await admin.patch(f"/deployments/{created['id']}", json={"source_config": {"resource_spec": nulls}})
    assert patched.status_code == 200, patched.text
    spec = patched.json()["source_config"]["resource_spec"]
    assert (spec["min_scale"], spec["max_scale"], spec["labels"], spec.get("db_storage_gi")) == (1, 1, {}, None)
    # cpu back to its default; its limit was set apart from it, so it stays.
    assert (spec["cpu"], spec["cpu_limit"]) == (1, 2)
    assert spec["memory_mb"] == REFERENCE_SPEC["memory_mb"]
    assert spec["db_max_connections"] == REFERENCE_SPEC["db_max_connections"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("db_cpu", -0.5),
        ("db_cpu_limit", -1),
        ("db_memory_mb", -1),
        ("db_memory_limit_mb", -1),
        ("db_storage_gi", -1),
        ("db_max_connections", -1),
        ("db_storage_gi", 1.5),
        ("db_max_connections", "many"),
    ],
)
async def test_database_sizing_must_be_a_non_negative_number(admin, listener, field, value):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"][field] = value
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 422, response.text
    loc = ["body", "source_config", "resource_spec", field]
    errors = response.json()["detail"]
    # Refused for its value, not as a field the API does not know.
    assert any(e["loc"] == loc and e["type"] != "extra_forbidden" for e in errors), errors


@pytest.mark.parametrize("field", ["replicas", "db_storage_gb", "postgres_cpu"])
async def test_a_field_the_reference_does_not_list_is_refused_naming_it(admin, listener, field):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"][field] = 1
    created = await admin.post("/deployments", json=body)
    assert created.status_code == 422
    errors = created.json()["detail"]
    assert any(e["loc"][-1] == field and "Extra inputs" in e["msg"] for e in errors), errors
    # In a PATCH too.
    deployment = (await admin.post("/deployments", json=deployment_body(listener["id"], name="other"))).json()
    patched = await admin.patch(
        f"/deployments/{deployment['id']}", json={"source_config": {"resource_spec": {field: 1}}}
    )
    assert patched.status_code == 422
    assert any(e["loc"][-1] == field for e in patched.json()["detail"]), patched.json()


async def test_a_field_outside_the_reference_is_still_refused(admin, listener):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"]["replicas"] = 3
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(e["loc"][-1] == "replicas" and "Extra inputs" in e["msg"] for e in errors), errors


async def test_an_unsupported_source_is_a_400_with_a_string_detail(admin, listener):
    response = await admin.post("/deployments", json=deployment_body(listener["id"], source="github"))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.startswith("source: 'github' is not supported")
    assert "langgraph build" in detail
    assert (await admin.get("/deployments")).json()["resources"] == []


async def test_listener_id_defaults_to_the_tenants_only_listener(admin, listener):
    body = deployment_body(listener["id"])
    del body["source_config"]["listener_id"]
    created = await admin.post("/deployments", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["source_config"]["listener_id"] == listener["id"]


async def test_listener_id_is_required_in_langsmiths_words_when_there_are_several(admin, listener):
    assert (await admin.post("/listeners", json={"compute_id": "cluster-2"})).status_code == 201
    body = deployment_body(listener["id"])
    del body["source_config"]["listener_id"]
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 400
    # langgraph-cli matches this text to tell the user to pass --listener-id.
    assert "'listener_id' is required" in response.json()["detail"]


async def test_a_duplicate_secret_across_kinds_is_a_400_naming_secrets(admin, deployment):
    url = f"/deployments/{deployment['id']}"
    refs = [{"name": "OPENAI_API_KEY", "secret_name": "s", "secret_key": "k"}]
    response = await admin.patch(url, json={"secret_references": refs})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("secrets: environment variable(s) OPENAI_API_KEY")


@pytest.mark.parametrize(
    ("extra", "loc_tail", "message"),
    [
        ({"volumes": [{"name": "host", "hostPath": {"path": "/"}}]}, ["volumes", 0], "not allowed"),
        ({"volumes": [{"name": "share", "nfs": {"server": "nfs", "path": "/"}}]}, ["volumes", 0], "restricted"),
        ({"volumes": [{"name": "two", "emptyDir": {}, "configMap": {}}]}, ["volumes", 0], "exactly one"),
        # Sources naming objects of the namespace the listener cannot vet (another agent's):
        ({"volumes": [{"name": "s", "secret": {"secretName": "other-env"}}]}, ["volumes", 0], "secret_references"),
        ({"volumes": [{"name": "p", "persistentVolumeClaim": {"claimName": "x"}}]}, ["volumes", 0], "refused"),
        (
            {"volumes": [{"name": "p", "projected": {"sources": [{"secret": {"name": "other-env"}}]}}]},
            ["volumes", 0],
            "refused",
        ),
        (
            {
                "sidecars": [
                    {
                        "name": "s",
                        "image": "x:1",
                        "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "o", "key": "k"}}}],
                    }
                ]
            },
            ["sidecars", 0],
            "secretKeyRef",
        ),
        (
            {"init_containers": [{"name": "i", "image": "x:1", "envFrom": [{"secretRef": {"name": "other-env"}}]}]},
            ["init_containers", 0],
            "secretRef",
        ),
        ({"volumes": [{"name": "tmp", "emptyDir": {}}]}, ["volumes", 0, "name"], "platform's own"),
        ({"volume_mounts": [{"name": "nowhere", "mountPath": "/x"}]}, [], "no such volume"),
        (
            {"sidecars": [{"name": "proxy", "image": "envoy:1", "securityContext": {"privileged": True}}]},
            ["sidecars", 0, "securityContext", "privileged"],
            "Extra inputs",
        ),
        (
            {"init_containers": [{"name": "init", "image": "busybox:1", "securityContext": {"runAsUser": 0}}]},
            ["init_containers", 0, "securityContext", "runAsUser"],
            "greater than or equal to 1",
        ),
        ({"sidecars": [{"name": "langgraph-server", "image": "x:1"}]}, ["sidecars", 0, "name"], "platform's own"),
        (
            {
                "volumes": [{"name": "v", "emptyDir": {}}],
                "volume_mounts": [{"name": "v", "mountPath": "/v", "mountPropagation": "Bidirectional"}],
            },
            ["volume_mounts", 0, "mountPropagation"],
            "",
        ),
    ],
)
async def test_pod_extras_that_would_break_pod_security_restricted_are_refused(
    admin, listener, extra, loc_tail, message
):
    body = deployment_body(listener["id"])
    body["source_config"]["resource_spec"].update(extra)
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 422, response.text
    loc = ["body", "source_config", "resource_spec", *loc_tail]
    errors = response.json()["detail"]
    assert any(e["loc"][: len(loc)] == loc and message in e["msg"] for e in errors), errors
