"""deployment_metrics rows: buckets that samples are added to, trimmed by age and count, read
re-binned to a step."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ..core.database import Conn

# Buckets start on multiples of their width since this instant (date_bin's origin).
_ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Sample:
    revision_id: uuid.UUID
    measured_at: dt.datetime
    figure: str
    value: float


@dataclass(frozen=True)
class Range:
    resolution: int
    since: dt.datetime
    until: dt.datetime
    step: int
    revision_id: uuid.UUID | None


async def add(conn: Conn, deployment_id: uuid.UUID, resolution: int, samples: Sequence[Sample]) -> None:
    """Adds each sample to its bucket of `resolution` seconds: a bucket's value is the mean of
    the samples that fell in it."""
    await conn.executemany(
        """
        INSERT INTO deployment_metrics AS m
            (deployment_id, revision_id, resolution, bucket, figure, value_sum, samples)
        VALUES ($1, $2, $3, date_bin(make_interval(secs => $3::int), $4, $6), $5, $7, 1)
        ON CONFLICT (deployment_id, resolution, bucket, revision_id, figure)
        DO UPDATE SET value_sum = m.value_sum + excluded.value_sum, samples = m.samples + 1
        """,
        [(deployment_id, s.revision_id, resolution, s.measured_at, s.figure, _ORIGIN, s.value) for s in samples],
    )


async def trim(conn: Conn, deployment_id: uuid.UUID, resolution: int, keep_for: dt.timedelta, keep_rows: int) -> None:
    """Drops the deployment's buckets of `resolution` older than `keep_for`, and the oldest ones
    beyond `keep_rows` (many revisions at once could otherwise grow past the time bound)."""
    await conn.execute(
        """
        DELETE FROM deployment_metrics
        WHERE deployment_id = $1 AND resolution = $2
          AND (bucket < clock_timestamp() - $3::interval
               OR bucket < (SELECT bucket FROM deployment_metrics
                            WHERE deployment_id = $1 AND resolution = $2
                            ORDER BY bucket DESC OFFSET $4 - 1 LIMIT 1))
        """,
        deployment_id,
        resolution,
        keep_for,
        keep_rows,
    )


async def series(conn: Conn, deployment_id: uuid.UUID, r: Range) -> list[asyncpg.Record]:
    """Per figure and step (oldest first): the mean over the step of the stored buckets, each
    bucket first added up (`total`) or maxed (`worst`) over the revisions in it."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        WITH per_bucket AS (
            SELECT bucket, figure, sum(value_sum / samples) AS total, max(value_sum / samples) AS worst
            FROM deployment_metrics
            WHERE deployment_id = $1 AND resolution = $2 AND bucket >= $3 AND bucket < $4
              AND ($5::uuid IS NULL OR revision_id = $5)
            GROUP BY bucket, figure
        )
        SELECT date_bin(make_interval(secs => $6::int), bucket, $7) AS step_start, figure,
               avg(total) AS total, avg(worst) AS worst
        FROM per_bucket
        GROUP BY step_start, figure
        ORDER BY figure, step_start
        """,
        deployment_id,
        r.resolution,
        r.since,
        r.until,
        r.revision_id,
        r.step,
        _ORIGIN,
    )
    return rows


async def first_seen(conn: Conn, deployment_id: uuid.UUID, r: Range) -> list[asyncpg.Record]:
    """The revisions whose first bucket of the resolution falls in the range, oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT revision_id, min(bucket) AS first_seen FROM deployment_metrics
        WHERE deployment_id = $1 AND resolution = $2 AND ($5::uuid IS NULL OR revision_id = $5)
        GROUP BY revision_id
        HAVING min(bucket) >= $3 AND min(bucket) < $4
        ORDER BY first_seen, revision_id
        """,
        deployment_id,
        r.resolution,
        r.since,
        r.until,
        r.revision_id,
    )
    return rows
