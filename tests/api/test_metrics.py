"""Per-deployment metrics (issue 16): the listener's points are kept downsampled (10 s buckets
for an hour, 1 min for a day, bounded per deployment) in the real Postgres and served as series
per deployment and per revision, tenant-scoped."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from api_support import ADMIN_KEY, client_for
from lgcp_api.metrics import service as metrics_service


def bucket_start(seconds: int) -> dt.datetime:
    """A recent instant on a whole minute, so tests know which buckets their points fall in."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return now - dt.timedelta(minutes=5, seconds=now.second) - dt.timedelta(seconds=seconds)


T0 = bucket_start(0)


def point(revision_id: str, at: dt.datetime, **values: float) -> dict:
    return {"revision_id": revision_id, "timestamp": at.isoformat(), "values": values}


async def report(listener, deployment_id: str, *points: dict, expect: int = 204):
    response = await listener.post(f"/listener-api/deployments/{deployment_id}/metrics", json={"points": list(points)})
    assert response.status_code == expect, response.text
    return response


def series(body: dict, figure: str) -> list[tuple[dt.datetime, float]]:
    (found,) = [s for s in body["series"] if s["figure"] == figure]
    return [(dt.datetime.fromisoformat(p["timestamp"]), p["value"]) for p in found["points"]]


async def second_revision(admin, deployment: dict) -> str:
    response = await admin.post(
        f"/deployments/{deployment['id']}/revisions",
        json={"source_revision_config": {"image_uri": "registry.example.com/team/agent:2"}},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_points_are_averaged_per_10_s_bucket_and_served_to_a_viewer(role_client, deployment):
    listener, viewer = await role_client("listener"), await role_client("viewer")
    rev = deployment["latest_revision_id"]
    await report(
        listener,
        deployment["id"],
        point(rev, T0 + dt.timedelta(seconds=1), cpu_cores=0.2, replicas_ready=1),
        point(rev, T0 + dt.timedelta(seconds=6), cpu_cores=0.4, replicas_ready=1),
        point(rev, T0 + dt.timedelta(seconds=12), cpu_cores=1.0, replicas_ready=2),
    )
    since, until = T0.isoformat(), (T0 + dt.timedelta(minutes=1)).isoformat()
    response = await viewer.get(f"/deployments/{deployment['id']}/metrics", params={"since": since, "until": until})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["step"] == 10 and body["revision_id"] is None
    assert series(body, "cpu_cores") == [(T0, pytest.approx(0.3)), (T0 + dt.timedelta(seconds=10), 1.0)]
    assert series(body, "replicas_ready") == [(T0, 1.0), (T0 + dt.timedelta(seconds=10), 2.0)]
    assert series(body, "memory_bytes") == []  # never measured: an empty series, still listed
    assert [s["figure"] for s in body["series"]][:2] == ["replicas_ready", "replicas_desired"]
    assert body["revisions"] == [{"revision_id": rev, "first_seen": T0.isoformat().replace("+00:00", "Z")}]


async def test_a_coarser_step_averages_the_buckets(role_client, deployment):
    listener = await role_client("listener")
    rev = deployment["latest_revision_id"]
    await report(
        listener,
        deployment["id"],
        *(point(rev, T0 + dt.timedelta(seconds=10 * i), memory_bytes=100.0 * (i + 1)) for i in range(6)),
    )
    response = await listener_free_read(role_client, deployment, since=T0, until=T0 + dt.timedelta(minutes=1), step=60)
    assert series(response, "memory_bytes") == [(T0, pytest.approx(350.0))]
    # A step that is not a multiple of the buckets is rounded up to one.
    response = await listener_free_read(role_client, deployment, since=T0, until=T0 + dt.timedelta(minutes=1), step=25)
    assert response["step"] == 30
    assert [v for _, v in series(response, "memory_bytes")] == [pytest.approx(200.0), pytest.approx(500.0)]


async def listener_free_read(role_client, deployment: dict, revision_id: str | None = None, **params) -> dict:
    reader = await role_client("viewer")
    query = {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in params.items()}
    path = f"/deployments/{deployment['id']}"
    path += f"/revisions/{revision_id}/metrics" if revision_id else "/metrics"
    response = await reader.get(path, params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def test_revisions_add_up_latency_shows_the_worst_and_each_revision_reads_alone(admin, role_client, deployment):
    listener = await role_client("listener")
    first = deployment["latest_revision_id"]
    second = await second_revision(admin, deployment)
    at = T0 + dt.timedelta(seconds=40)
    await report(
        listener,
        deployment["id"],
        point(first, T0, cpu_cores=0.5, http_latency_ms=10),
        point(first, at, cpu_cores=0.5, http_latency_ms=10),
        point(second, at, cpu_cores=0.25, http_latency_ms=80),
    )
    whole = await listener_free_read(role_client, deployment, since=T0, until=T0 + dt.timedelta(minutes=1))
    assert series(whole, "cpu_cores") == [(T0, 0.5), (at, 0.75)]
    assert series(whole, "http_latency_ms") == [(T0, 10.0), (at, 80.0)]
    assert [m["revision_id"] for m in whole["revisions"]] == [first, second]
    alone = await listener_free_read(role_client, deployment, second, since=T0, until=T0 + dt.timedelta(minutes=1))
    assert alone["revision_id"] == second
    assert series(alone, "cpu_cores") == [(at, 0.25)]
    assert [m["revision_id"] for m in alone["revisions"]] == [second]


async def test_a_range_beyond_the_hour_reads_the_minute_buckets(role_client, deployment):
    listener = await role_client("listener")
    rev = deployment["latest_revision_id"]
    old = T0 - dt.timedelta(hours=3)
    await report(listener, deployment["id"], point(rev, old, restarts=2), point(rev, T0, restarts=3))
    body = await listener_free_read(
        role_client, deployment, since=old - dt.timedelta(hours=1), until=T0 + dt.timedelta(minutes=1)
    )
    assert body["step"] >= 60
    assert [v for _, v in series(body, "restarts")] == [2.0, 3.0]
    # The fine buckets no longer hold a point three hours old: the last hour alone shows one point.
    recent = await listener_free_read(role_client, deployment)
    assert recent["step"] == 10 and [v for _, v in series(recent, "restarts")] == [3.0]


async def test_retention_drops_old_buckets_and_bounds_each_deployment(role_client, deployment, settings, monkeypatch):
    listener = await role_client("listener")
    rev = deployment["latest_revision_id"]
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        # Buckets as a day-old API would have kept them, then one report: its trim drops them.
        for resolution, age in ((10, dt.timedelta(hours=2)), (60, dt.timedelta(days=2))):
            await conn.execute(
                "INSERT INTO deployment_metrics VALUES ($1, $2, $3, $4, 'cpu_cores', 1, 1)",
                deployment["id"],
                rev,
                resolution,
                dt.datetime.now(dt.UTC) - age,
            )
        # A point older than a day is dropped at once, never stored.
        await report(listener, deployment["id"], point(rev, T0 - dt.timedelta(days=3), cpu_cores=9))
        assert await conn.fetchval("SELECT count(*) FROM deployment_metrics") == 0
        monkeypatch.setattr(metrics_service, "KEEP_ROWS", {10: 3, 60: 2})
        await report(
            listener, deployment["id"], *(point(rev, T0 + dt.timedelta(seconds=10 * i), cpu_cores=i) for i in range(5))
        )
        kept = await conn.fetch("SELECT resolution, count(*) FROM deployment_metrics GROUP BY 1 ORDER BY 1")
        assert [(r["resolution"], r["count"]) for r in kept] == [(10, 3), (60, 1)]
    finally:
        await conn.close()
    body = await listener_free_read(role_client, deployment, since=T0, until=T0 + dt.timedelta(minutes=1))
    assert [v for _, v in series(body, "cpu_cores")] == [2.0, 3.0, 4.0]  # the newest kept


async def test_bad_reports_are_refused_naming_what_is_wrong(admin, role_client, deployment, listener):
    reporter = await role_client("listener")
    rev = deployment["latest_revision_id"]
    other = (await admin.post("/deployments", json={**_body(listener), "name": "other-agent"})).json()
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    cases = [
        (point(other["latest_revision_id"], T0, cpu_cores=1), 400, "is not a revision of this deployment"),
        (point(rev, future, cpu_cores=1), 400, "points.0.timestamp: is in the future"),
        (point(rev, T0.replace(tzinfo=None), cpu_cores=1), 400, "needs a timezone"),
        (point(rev, T0, cpu_cores=-1), 422, "greater than or equal to 0"),
        (point(rev, T0, gpu_cores=1), 422, "values"),
        ({"revision_id": rev, "timestamp": T0.isoformat(), "values": {}}, 422, "at least 1 item"),
    ]
    for body, status, text in cases:
        response = await report(reporter, deployment["id"], body, expect=status)
        assert text in response.text, response.text
    too_many = [point(rev, T0, cpu_cores=1)] * (201)
    response = await reporter.post(f"/listener-api/deployments/{deployment['id']}/metrics", json={"points": too_many})
    assert response.status_code == 422 and "at most 200" in response.text
    viewer = await role_client("viewer")
    assert (
        await viewer.post(f"/listener-api/deployments/{deployment['id']}/metrics", json={"points": []})
    ).status_code == 403


def _body(listener: dict) -> dict:
    from api_support import deployment_body

    return deployment_body(listener["id"])


async def test_bad_reads_are_refused_naming_the_parameter(role_client, deployment, admin, listener):
    viewer = await role_client("viewer")
    url = f"/deployments/{deployment['id']}/metrics"
    later, earlier = T0.isoformat(), (T0 - dt.timedelta(minutes=1)).isoformat()
    cases = [
        ({"since": later, "until": earlier}, 400, "since: must be before until"),
        ({"since": T0.replace(tzinfo=None).isoformat()}, 400, "since: needs a timezone"),
        ({"step": 5}, 422, "step"),
        ({"since": (T0 - dt.timedelta(days=30)).isoformat(), "step": 60}, 400, "step: gives more than 1500 points"),
        ({"since": "yesterday"}, 422, "since"),
        ({"until": "0001-01-01T00:00:00Z"}, 400, "until: must be between 2000-01-01 and 2200-01-01"),
        ({"since": "9999-12-31T00:00:00Z"}, 400, "since: must be between"),
    ]
    for params, status, text in cases:
        response = await viewer.get(url, params=params)
        assert response.status_code == status and text in response.text, (params, response.text)
    other = (await admin.post("/deployments", json={**_body(listener), "name": "other-agent"})).json()
    response = await viewer.get(f"/deployments/{deployment['id']}/revisions/{other['latest_revision_id']}/metrics")
    assert response.status_code == 400 and "revision_id: is not a revision" in response.text
    # Unasked, the step grows so that a month still fits in the series' bound.
    month = await viewer.get(url, params={"since": (T0 - dt.timedelta(days=30)).isoformat()})
    assert month.status_code == 200 and 30 * 86400 / month.json()["step"] <= 1500


async def test_another_tenants_metrics_answer_404(app, admin, role_client, deployment):
    tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
    async with client_for(app, ADMIN_KEY, tenant["id"]) as other_admin:
        keys = {
            role: (await other_admin.post("/api-keys", json={"name": role, "role": role})).json()["key"]
            for role in ("admin", "listener")
        }
    rev = deployment["latest_revision_id"]
    async with client_for(app, keys["admin"]) as other, client_for(app, keys["listener"]) as other_listener:
        assert (await other.get(f"/deployments/{deployment['id']}/metrics")).status_code == 404
        assert (await other.get(f"/deployments/{deployment['id']}/revisions/{rev}/metrics")).status_code == 404
        await report(other_listener, deployment["id"], point(rev, T0, cpu_cores=1), expect=404)


async def test_the_routes_are_documented(admin):
    document = (await admin.get(str(admin.base_url).rstrip("/").removesuffix("/v2") + "/openapi.json")).json()
    get = document["paths"]["/api-host/v2/deployments/{deployment_id}/metrics"]["get"]
    assert {p["name"] for p in get["parameters"]} >= {"since", "until", "step"}
    assert "10 s points for an hour" in get["description"]
    assert "/api-host/v2/deployments/{deployment_id}/revisions/{revision_id}/metrics" in document["paths"]
    assert "MetricsIn" in document["components"]["schemas"]
