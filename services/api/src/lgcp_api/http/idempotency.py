"""Idempotency-Key on POST: a retry with the same key and body gets the first answer again.

The key row is inserted inside the request's own transaction, before the work. A concurrent
retry blocks on that row until the first transaction ends: if it committed, the retry reads
the stored answer; if it rolled back, the retry does the work itself. So nothing is done twice
and no answer is lost.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from fastapi import HTTPException, status
from fastapi.responses import JSONResponse

T = TypeVar("T")
MAX_KEY_LENGTH = 255
# How long an answer is kept for replay; retries come within minutes, not days.
RETENTION_HOURS = 24


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: object


def request_hash(method: str, path: str, body: object) -> bytes:
    """What makes two requests 'the same': method, path and the canonical JSON body."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["header", "Idempotency-Key"], "msg": f"must be 1..{MAX_KEY_LENGTH} characters",
              "type": "value_error"}],
        )


async def claim(
    conn: asyncpg.Connection, api_key_id: uuid.UUID, key: str, digest: bytes
) -> StoredAnswer | None:
    """Reserves `key` for this request, or returns the answer already given for it.

    Must run inside the transaction that does the work.
    """
    check_key(key)
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE api_key_id = $1 AND idempotency_key = $2 "
        "AND created_at < now() - make_interval(hours => $3)",
        api_key_id, key, RETENTION_HOURS,
    )
    inserted = await conn.fetchval(
        """
        INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_hash, status_code)
        VALUES ($1, $2, $3, 0)
        ON CONFLICT DO NOTHING RETURNING true
        """,
        api_key_id, key, digest,
    )
    if inserted:
        return None
    row = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys "
        "WHERE api_key_id = $1 AND idempotency_key = $2",
        api_key_id, key,
    )
    if row["request_hash"] != digest:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["header", "Idempotency-Key"],
              "msg": "this key was already used for a different request", "type": "value_error"}],
        )
    return StoredAnswer(row["status_code"], row["response"])


async def record(
    conn: asyncpg.Connection, api_key_id: uuid.UUID, key: str, status_code: int, body: object
) -> None:
    """Stores the answer in the same transaction as the work it describes."""
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = $3, response = $4 "
        "WHERE api_key_id = $1 AND idempotency_key = $2",
        api_key_id, key, status_code, body,
    )


def replay(stored: StoredAnswer) -> JSONResponse:
    """The stored answer, marked so a client can tell it is a replay."""
    return JSONResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})


async def purge_expired(conn: asyncpg.Connection) -> int:
    """Deletes keys older than RETENTION_HOURS; returns how many. Run periodically by the app."""
    status_line = await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        RETENTION_HOURS,
    )
    return int(status_line.split()[-1])


async def run_once(
    pool: asyncpg.Pool, api_key_id: uuid.UUID, key: str | None, path: str, body: object,
    work: Callable[[asyncpg.Connection], Awaitable[tuple[object, T]]], status_code: int = 201,
) -> tuple[JSONResponse | None, tuple[object, T] | None]:
    """Runs `work(conn)` (returning the JSON answer and anything else the caller needs) in one
    transaction, at most once per Idempotency-Key. Returns (replayed response, None) for a retry,
    else (None, work's result)."""
    async with pool.acquire() as conn, conn.transaction():
        if key is not None:
            stored = await claim(conn, api_key_id, key, request_hash("POST", path, body))
            if stored is not None:
                return replay(stored), None
        answer, extra = await work(conn)
        if key is not None:
            await record(conn, api_key_id, key, status_code, answer)
    return None, (answer, extra)
