"""The asyncpg pool: JSON codecs and the connection settings every query relies on, the type
of a connection as queries take it, and `fetch_one` for statements that always answer a row."""

from __future__ import annotations

import json
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# What a query runs on: a connection of the pool (what requests get), or a plain one.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns come back as Python objects and go in from dicts/lists.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def open_pool(dsn: str, min_size: int, max_size: int) -> asyncpg.Pool:
    """Opens the pool used by every request; closed by the app's lifespan."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=30,
    )


async def fetch_one(conn: Conn, query: str, *args: object) -> asyncpg.Record:
    """The row of a statement that always answers exactly one: an INSERT ... RETURNING, or an
    UPDATE ... RETURNING of a row the transaction has locked."""
    row = await conn.fetchrow(query, *args)
    if row is None:
        raise RuntimeError(f"expected a row from {query.split(maxsplit=1)[0]} but got none")
    return row
