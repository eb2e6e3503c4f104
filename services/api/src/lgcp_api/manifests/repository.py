"""deployment_manifests rows: the listener's latest rendering of each deployment."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from ..core.database import Conn


async def revision_belongs(conn: Conn, deployment_id: uuid.UUID, revision_id: uuid.UUID) -> bool:
    owned = await conn.fetchval(
        "SELECT true FROM revisions WHERE id = $1 AND deployment_id = $2", revision_id, deployment_id
    )
    return bool(owned)


async def replace(conn: Conn, deployment_id: uuid.UUID, revision_id: uuid.UUID, manifests: list[Any]) -> None:
    """Stores the rendering, replacing the deployment's previous one."""
    await conn.execute(
        """
        INSERT INTO deployment_manifests (deployment_id, revision_id, manifests, rendered_at)
        VALUES ($1, $2, $3, clock_timestamp())
        ON CONFLICT (deployment_id) DO UPDATE
        SET revision_id = EXCLUDED.revision_id, manifests = EXCLUDED.manifests,
            rendered_at = EXCLUDED.rendered_at
        """,
        deployment_id,
        revision_id,
        manifests,
    )


async def find(conn: Conn, deployment_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT revision_id, rendered_at, manifests FROM deployment_manifests WHERE deployment_id = $1", deployment_id
    )
    return row
