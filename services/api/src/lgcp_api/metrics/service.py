"""Metrics: the listener's points stored downsampled within bounds, and the series a reader asks."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from ..core.database import Conn
from ..deployments import repository as deployments
from ..http.errors import rule_violation
from ..manifests import repository as manifests
from . import repository
from .repository import Range, Sample
from .schemas import FIGURES, Figure, MetricsIn, MetricsOut, RevisionMark, Series, SeriesPoint


@dataclass(frozen=True)
class Resolution:
    seconds: int
    keep_for: dt.timedelta


# What is kept: 10 s buckets for an hour, 1 min buckets for a day. Every point lands in both,
# so a read of the last hour is fine-grained and a read of the day is cheap.
FINE = Resolution(10, dt.timedelta(hours=1))
COARSE = Resolution(60, dt.timedelta(days=1))
RESOLUTIONS = (FINE, COARSE)
# Rows per deployment and resolution: the time bound times every figure times four revisions
# at once (a rollout and a rollback in the same hour); beyond that the oldest buckets go.
KEEP_ROWS = {r.seconds: int(r.keep_for.total_seconds() // r.seconds + 1) * len(Figure) * 4 for r in RESOLUTIONS}
# A listener's clock may run a little ahead of the API's; further ahead is a bug worth a 400.
MAX_CLOCK_AHEAD = dt.timedelta(minutes=5)
MAX_POINTS_PER_SERIES = 1500
DEFAULT_RANGE = dt.timedelta(hours=1)
# A reader asking for "the last hour" computes it a moment before the API reads it.
READER_CLOCK_GRACE = dt.timedelta(minutes=1)
# Bounds of a range asked: no point is older than a day, and date arithmetic must not overflow.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


async def store(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, body: MetricsIn) -> None:
    """Adds the listener's points; 404 for another tenant's deployment, 400 for a point of a
    revision of another deployment or from the future. Points older than what is kept are
    dropped (a listener catching up after an outage)."""
    await deployments.get(conn, tenant_id, deployment_id)
    for revision_id in {p.revision_id for p in body.points}:
        if not await manifests.revision_belongs(conn, deployment_id, revision_id):
            raise rule_violation(("points", "revision_id"), f"{revision_id} is not a revision of this deployment")
    now = dt.datetime.now(dt.UTC)
    for i, point in enumerate(body.points):
        if point.timestamp.tzinfo is None:
            raise rule_violation(("points", str(i), "timestamp"), "needs a timezone (e.g. 2026-01-01T00:00:00Z)")
        if point.timestamp > now + MAX_CLOCK_AHEAD:
            raise rule_violation(("points", str(i), "timestamp"), f"is in the future ({point.timestamp.isoformat()})")
    for resolution in RESOLUTIONS:
        oldest = now - resolution.keep_for
        samples = [
            Sample(p.revision_id, p.timestamp, figure.value, value)
            for p in body.points
            if p.timestamp >= oldest
            for figure, value in p.values.items()
        ]
        if samples:
            await repository.add(conn, deployment_id, resolution.seconds, samples)
        await repository.trim(
            conn, deployment_id, resolution.seconds, resolution.keep_for, KEEP_ROWS[resolution.seconds]
        )


@dataclass(frozen=True)
class Asked:
    """The range and step a reader asked for; None: the default."""

    since: dt.datetime | None
    until: dt.datetime | None
    step: int | None


def choose_range(
    since: dt.datetime | None, until: dt.datetime | None, step: int | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime, int, Resolution]:
    """The range to read (default: the last hour), the step (default: the finest stored, at most
    MAX_POINTS_PER_SERIES points) and the resolution that serves it; 400 naming what is wrong."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise rule_violation((name,), "needs a timezone (e.g. 2026-01-01T00:00:00Z)")
        if value is not None and not EARLIEST <= value <= LATEST:
            raise rule_violation((name,), f"must be between {EARLIEST.date()} and {LATEST.date()}")
    until = until or now
    since = since or until - DEFAULT_RANGE
    if since >= until:
        raise rule_violation(("since",), "must be before until")
    # The fine buckets serve a range they still cover, at a step finer than a minute.
    fine_covers = since >= now - FINE.keep_for - READER_CLOCK_GRACE
    asked = step or 0
    resolution = FINE if fine_covers and asked < COARSE.seconds else COARSE
    seconds = (until - since).total_seconds()
    step = max(asked, resolution.seconds)
    if step % resolution.seconds:
        step += resolution.seconds - step % resolution.seconds
    if not asked:
        # Unasked: the finest step that keeps the series within bounds.
        while seconds / step > MAX_POINTS_PER_SERIES:
            step *= 2
    if seconds / step > MAX_POINTS_PER_SERIES:
        raise rule_violation(
            ("step",), f"gives more than {MAX_POINTS_PER_SERIES} points over the range: make it larger"
        )
    return since, until, step, resolution


async def read(
    conn: Conn,
    tenant_id: uuid.UUID,
    deployment_id: uuid.UUID,
    revision_id: uuid.UUID | None,
    asked: Asked,
) -> MetricsOut:
    await deployments.get(conn, tenant_id, deployment_id)
    if revision_id is not None and not await manifests.revision_belongs(conn, deployment_id, revision_id):
        raise rule_violation(("revision_id",), "is not a revision of this deployment")
    since, until, step, resolution = choose_range(asked.since, asked.until, asked.step, dt.datetime.now(dt.UTC))
    r = Range(resolution.seconds, since, until, step, revision_id)
    points: dict[str, list[SeriesPoint]] = {f.value: [] for f in Figure}
    for row in await repository.series(conn, deployment_id, r):
        combine = FIGURES[Figure(row["figure"])].across_revisions
        value = row["total"] if combine == "sum" else row["worst"]
        points[row["figure"]].append(SeriesPoint(timestamp=row["step_start"], value=value))
    series = [
        Series(figure=f, unit=FIGURES[f].unit, description=FIGURES[f].description, points=points[f.value])
        for f in Figure
    ]
    marks = [
        RevisionMark(revision_id=row["revision_id"], first_seen=row["first_seen"])
        for row in await repository.first_seen(conn, deployment_id, r)
    ]
    return MetricsOut(
        deployment_id=deployment_id,
        revision_id=revision_id,
        since=since,
        until=until,
        step=step,
        series=series,
        revisions=marks,
    )
