"""Idempotency-Key on POST and ETag / If-Match on PATCH and DELETE."""

from __future__ import annotations

import asyncio

from api_support import deployment_body


async def test_same_key_and_body_returns_the_first_answer_and_creates_once(admin, listener):
    headers = {"Idempotency-Key": "create-1"}
    body = deployment_body(listener["id"])
    first = await admin.post("/deployments", json=body, headers=headers)
    again = await admin.post("/deployments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len((await admin.get("/deployments")).json()["resources"]) == 1


async def test_same_key_with_another_body_is_rejected(admin, listener):
    headers = {"Idempotency-Key": "create-2"}
    assert (
        await admin.post("/deployments", json=deployment_body(listener["id"], "a"), headers=headers)
    ).status_code == 201
    response = await admin.post("/deployments", json=deployment_body(listener["id"], "b"), headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert [d["name"] for d in (await admin.get("/deployments")).json()["resources"]] == ["a"]


async def test_concurrent_retries_with_one_key_create_one_deployment(admin, listener):
    headers = {"Idempotency-Key": "create-3"}
    body = deployment_body(listener["id"])
    answers = await asyncio.gather(*(admin.post("/deployments", json=body, headers=headers) for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len((await admin.get("/deployments")).json()["resources"]) == 1


async def test_a_failed_request_does_not_burn_its_key(admin, listener):
    headers = {"Idempotency-Key": "create-4"}
    body = deployment_body(listener["id"])
    body["source_config"]["listener_config"]["k8s_namespace"] = "not-allowed"
    assert (await admin.post("/deployments", json=body, headers=headers)).status_code == 400
    body["source_config"]["listener_config"]["k8s_namespace"] = "agents"
    response = await admin.post("/deployments", json=body, headers=headers)
    assert response.status_code == 201


async def test_keys_belong_to_the_api_key_that_sent_them(admin, role_client, listener):
    other = await role_client("deployer")
    headers = {"Idempotency-Key": "shared"}
    a = await admin.post("/deployments", json=deployment_body(listener["id"], "a"), headers=headers)
    b = await other.post("/deployments", json=deployment_body(listener["id"], "b"), headers=headers)
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


async def test_idempotent_revision_create(admin, deployment):
    url = f"/deployments/{deployment['id']}/revisions"
    body = {"source_revision_config": {"image_uri": "r.io/a:2"}}
    headers = {"Idempotency-Key": "rev-1"}
    first = await admin.post(url, json=body, headers=headers)
    again = await admin.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert len((await admin.get(url)).json()["resources"]) == 2


async def test_if_match_mismatch_is_412_and_changes_nothing(admin, deployment):
    url = f"/deployments/{deployment['id']}"
    etag = (await admin.get(url)).headers["ETag"]
    changed = await admin.patch(
        url, json={"source_config": {"custom_url": "https://a.example.com"}}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    stale = await admin.patch(
        url, json={"source_config": {"custom_url": "https://b.example.com"}}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert (await admin.get(url)).json()["source_config"]["custom_url"] == "https://a.example.com"
    assert (await admin.delete(url, headers={"If-Match": etag})).status_code == 412
    assert (await admin.delete(url, headers={"If-Match": changed.headers["ETag"]})).status_code == 204


async def test_concurrent_patches_with_the_same_if_match_exactly_one_wins(admin, deployment):
    url = f"/deployments/{deployment['id']}"
    etag = (await admin.get(url)).headers["ETag"]
    answers = await asyncio.gather(
        *(
            admin.patch(url, json={"source_revision_config": {"image_uri": f"r.io/a:{i}"}}, headers={"If-Match": etag})
            for i in range(6)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [412] * 5
    winner = next(a for a in answers if a.status_code == 200).json()
    assert (await admin.get(url)).json()["image_version"] == winner["image_version"]
    assert len((await admin.get(f"{url}/revisions")).json()["resources"]) == 2


async def test_listener_etag_and_if_match(admin, listener):
    url = f"/listeners/{listener['id']}"
    response = await admin.patch(url, json={"compute_config": {"k8s_namespaces": ["x"]}}, headers={"If-Match": '"999"'})
    assert response.status_code == 412
    response = await admin.patch(url, json={"compute_config": {"k8s_namespaces": ["x"]}}, headers={"If-Match": '"1"'})
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'


async def test_expired_keys_are_purged_and_may_be_reused(admin, listener, settings):
    import asyncpg
    from lgcp_api.idempotency.repository import RETENTION_HOURS, purge_expired

    headers = {"Idempotency-Key": "old"}
    first = await admin.post("/deployments", json=deployment_body(listener["id"], "a"), headers=headers)
    assert first.status_code == 201
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        await conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - make_interval(hours => $1 + 1)",
            RETENTION_HOURS,
        )
        # Past retention, the same key is a new request (another body is no longer rejected).
        reused = await admin.post("/deployments", json=deployment_body(listener["id"], "b"), headers=headers)
        assert reused.status_code == 201 and reused.json()["id"] != first.json()["id"]
        await conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - make_interval(hours => $1 + 1)",
            RETENTION_HOURS,
        )
        assert await purge_expired(conn) == 1
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    finally:
        await conn.close()


def _canonical_sha256(path: str, body: object) -> bytes:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(["POST", path, body], sort_keys=True, separators=(",", ":")).encode()).digest()


async def test_the_stored_request_hash_is_an_hmac_under_the_secret_key(admin, listener, settings):
    """The body carries secret values: a plain SHA-256 of it would let whoever reads the table
    test guesses of them offline, so what is stored must depend on LGCP_SECRET_KEY."""
    import asyncpg
    from lgcp_api.deployments.schemas import DeploymentCreate
    from lgcp_api.idempotency.service import request_hmac

    body = deployment_body(listener["id"])
    assert (await admin.post("/deployments", json=body, headers={"Idempotency-Key": "hmac-1"})).status_code == 201
    path = f"{settings.api_prefix}/v2/deployments"
    hashed = DeploymentCreate.model_validate(body).model_dump(mode="json")  # what the API hashes
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM idempotency_keys")
    finally:
        await conn.close()
    stored = bytes(row["request_hash"])
    assert row["request_hash_scheme"] == "hmac-sha256"
    assert stored != _canonical_sha256(path, hashed)
    assert stored == request_hmac(settings.secret_key.get_secret_value(), "POST", path, hashed)
    assert stored != request_hmac("another-secret-key-" + "x" * 40, "POST", path, hashed)
    # Nor is it the bare HMAC that keys API keys with the same secret (domain separated).
    import hashlib
    import hmac
    import json

    canonical = json.dumps(["POST", path, hashed], sort_keys=True, separators=(",", ":")).encode()
    assert stored != hmac.new(settings.secret_key.get_secret_value().encode(), canonical, hashlib.sha256).digest()


async def test_rows_stored_before_the_hmac_still_replay_until_they_expire(admin, listener, settings):
    """A row written by an API before migration 0004 holds a plain SHA-256 (scheme `sha256`):
    a retry across the upgrade must still get its first answer, another body still 422."""
    import json

    import asyncpg
    from lgcp_api.deployments.schemas import DeploymentCreate

    body = deployment_body(listener["id"], "legacy")
    first = await admin.post("/deployments", json=body)
    assert first.status_code == 201
    path = f"{settings.api_prefix}/v2/deployments"
    hashed = DeploymentCreate.model_validate(body).model_dump(mode="json")
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        api_key_id = await conn.fetchval("SELECT id FROM api_keys WHERE role = 'admin'")
        # Exactly what the previous version inserted: no scheme named, so the column's default.
        await conn.execute(
            "INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_hash, status_code, response) "
            "VALUES ($1, 'from-before', $2, 201, $3::jsonb)",
            api_key_id,
            _canonical_sha256(path, hashed),
            json.dumps(first.json()),
        )
        assert await conn.fetchval("SELECT request_hash_scheme FROM idempotency_keys") == "sha256"
    finally:
        await conn.close()
    headers = {"Idempotency-Key": "from-before"}
    again = await admin.post("/deployments", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = await admin.post("/deployments", json=deployment_body(listener["id"], "other"), headers=headers)
    assert other.status_code == 422 and other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert [d["name"] for d in (await admin.get("/deployments")).json()["resources"]] == ["legacy"]
