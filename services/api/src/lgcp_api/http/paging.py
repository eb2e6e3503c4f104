"""Offset paging of the wire contract: `limit` 1..100 (default 20) and `offset`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
from fastapi import Query
from pydantic import BaseModel

from ..core.database import Conn

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 20,
    # Bounded by PostgreSQL's bigint, which OFFSET takes: beyond it asyncpg cannot encode it.
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="items to skip")] = 0,
) -> Page:
    """The paging query parameters, validated (async: no thread-pool hop, see lgcp_api.http.deps)."""
    return Page(limit, offset)


class PageOut(BaseModel, Generic[T]):
    """A page of resources; `offset` is where the next page starts."""

    resources: list[T]
    offset: int


def page_out(resources: Sequence[object], page: Page) -> dict[str, Any]:
    """The list answer: the next page starts right after what this one returned."""
    return {"resources": resources, "offset": page.offset + len(resources)}


async def fetch_page(conn: Conn, query: str, *args: object, page: Page) -> list[asyncpg.Record]:
    """The rows of `query` for `page`: its last two parameters are LIMIT and OFFSET."""
    return await conn.fetch(query, *args, page.limit, page.offset)


# Every table with rows that a tenant lists has these two columns; `id` breaks ties in one instant.
NEWEST_FIRST = "created_at DESC, id DESC"


@dataclass(frozen=True)
class Listing:
    """The commonest paged read: the rows of `table` whose `owner` column equals one key, in
    `order`. Repositories declare one per list at import, so the statement is constant text
    (no request input ever reaches it) and each list reads as what it selects, not as SQL."""

    table: str
    owner: str
    columns: str = "*"
    order: str = NEWEST_FIRST

    @property
    def query(self) -> str:
        select = f"SELECT {self.columns} FROM {self.table} WHERE {self.owner} = $1"  # noqa: S608 - declared constants
        return f"{select} ORDER BY {self.order} LIMIT $2 OFFSET $3"

    async def fetch(self, conn: Conn, key: object, page: Page) -> list[asyncpg.Record]:
        return await fetch_page(conn, self.query, key, page=page)
