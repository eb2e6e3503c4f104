"""Empty databases made ahead of time, so that a new agent's database is a rename, not a copy.

CREATE DATABASE copies a template: tens of milliseconds of a core on an idle server, far more
when several run at once, and it sat on every new agent's path to its first pod. A few spares
(`lgcp_spare_<random>`, nobody's, PUBLIC's access revoked) are kept on the data-plane server; a
new agent's database is a spare renamed (instant, atomic) and handed to the agent's role, and
the spares are refilled in the background, one at a time. Any listener may take any spare: they
are all the same empty database.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger(__name__)

PREFIX = "lgcp_spare_"
_LIST = "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname"


class SpareDatabases:
    """Keeps `target` spare databases on the server `pool` reaches (0: none, every database is
    created when needed)."""

    def __init__(self, pool: Callable[[], Awaitable[asyncpg.Pool]], target: int) -> None:
        self._pool, self.target = pool, target
        self._refill: asyncio.Task[None] | None = None

    async def names(self) -> list[str]:
        """The spare databases on the server."""
        pool = await self._pool()
        async with pool.acquire() as conn:
            return [row["datname"] for row in await conn.fetch(_LIST, PREFIX)]

    async def claim(self, conn: asyncpg.Connection | PoolConnectionProxy, name: str) -> bool:
        """Renames a spare to `name`; False when none is left. Workers may race for a spare: the
        loser's rename finds it gone and tries the next."""
        for row in await conn.fetch(_LIST, PREFIX):
            try:
                await conn.execute(f'ALTER DATABASE "{row["datname"]}" RENAME TO "{name}"')
                return True
            except (asyncpg.InvalidCatalogNameError, asyncpg.UndefinedObjectError, asyncpg.ObjectInUseError):
                continue
        return False

    def refill(self) -> asyncio.Task[None] | None:
        """Starts making spares up to the target in the background, unless that is under way."""
        if self.target and (self._refill is None or self._refill.done()):
            self._refill = asyncio.create_task(self._make(), name="spare-databases")
        return self._refill

    async def _make(self) -> None:
        try:
            while len(await self.names()) < self.target:
                name = f"{PREFIX}{secrets.token_hex(8)}"
                pool = await self._pool()
                async with pool.acquire() as conn:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                    await conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "spare databases not made (%s): new agents' databases are created when needed", type(exc).__name__
            )

    async def close(self) -> None:
        """Stops a refill under way (a spare half made is rolled back by PostgreSQL)."""
        if self._refill is not None:
            self._refill.cancel()
            await asyncio.gather(self._refill, return_exceptions=True)
