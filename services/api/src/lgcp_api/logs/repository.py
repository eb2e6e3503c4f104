"""deployment_logs rows: appended by the listener's reports, read newest or oldest first."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ..core.database import Conn


@dataclass(frozen=True)
class NewEntry:
    revision_id: uuid.UUID | None
    logged_at: dt.datetime
    level: str
    origin: str
    message: str


@dataclass(frozen=True)
class Filter:
    revision_id: uuid.UUID | None
    levels: Sequence[str] | None
    text: str | None
    start: dt.datetime | None
    end: dt.datetime | None


async def append(conn: Conn, deployment_id: uuid.UUID, entries: Sequence[NewEntry]) -> None:
    await conn.executemany(
        "INSERT INTO deployment_logs (deployment_id, revision_id, logged_at, level, origin, message) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(deployment_id, e.revision_id, e.logged_at, e.level, e.origin, e.message) for e in entries],
    )


async def trim(conn: Conn, deployment_id: uuid.UUID, keep: int, older_than: dt.timedelta) -> None:
    """Drops the deployment's entries beyond the newest `keep` and those older than `older_than`."""
    await conn.execute(
        """
        DELETE FROM deployment_logs
        WHERE deployment_id = $1
          AND (logged_at < clock_timestamp() - $3::interval
               OR id < (SELECT id FROM deployment_logs WHERE deployment_id = $1
                        ORDER BY id DESC OFFSET $2 - 1 LIMIT 1))
        """,
        deployment_id,
        keep,
        older_than,
    )


async def read(
    conn: Conn, deployment_id: uuid.UUID, where: Filter, *, ascending: bool, limit: int, offset: int
) -> list[asyncpg.Record]:
    """A page of the deployment's entries matching `where`, by time then arrival."""
    direction = "ASC" if ascending else "DESC"
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT id, revision_id, logged_at, level, origin, message FROM deployment_logs
        WHERE deployment_id = $1
          AND ($2::uuid IS NULL OR revision_id = $2)
          AND ($3::text[] IS NULL OR level = ANY($3))
          AND ($4::text IS NULL OR strpos(lower(message), lower($4)) > 0)
          AND ($5::timestamptz IS NULL OR logged_at >= $5)
          AND ($6::timestamptz IS NULL OR logged_at < $6)
        ORDER BY logged_at {direction}, id {direction}
        LIMIT $7 OFFSET $8
        """,  # noqa: S608 - direction is one of two constants, never input
        deployment_id,
        where.revision_id,
        list(where.levels) if where.levels is not None else None,
        where.text,
        where.start,
        where.end,
        limit,
        offset,
    )
    return rows
