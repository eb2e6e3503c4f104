"""The idempotency_keys rows: a claim per (API key, Idempotency-Key), its answer, and expiry."""

from __future__ import annotations

import uuid

import asyncpg

from ..core.database import Conn, fetch_one

# How long an answer is kept for replay; retries come within minutes, not days.
RETENTION_HOURS = 24


async def drop_expired_claim(conn: Conn, api_key_id: uuid.UUID, key: str) -> None:
    """Frees a key whose claim outlived the retention, so it can be used again."""
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE api_key_id = $1 AND idempotency_key = $2 "
        "AND created_at < now() - make_interval(hours => $3)",
        api_key_id,
        key,
        RETENTION_HOURS,
    )


async def insert_claim(conn: Conn, api_key_id: uuid.UUID, key: str, request_hash: bytes, scheme: str) -> bool:
    """True when this request took the key; False when a row for it exists (or is being written
    by a concurrent transaction, which this waits for)."""
    inserted: bool | None = await conn.fetchval(
        """
        INSERT INTO idempotency_keys
            (api_key_id, idempotency_key, request_hash, request_hash_scheme, status_code)
        VALUES ($1, $2, $3, $4, 0)
        ON CONFLICT DO NOTHING RETURNING true
        """,
        api_key_id,
        key,
        request_hash,
        scheme,
    )
    return bool(inserted)


async def find_claim(conn: Conn, api_key_id: uuid.UUID, key: str) -> asyncpg.Record:
    """The row of a key already claimed: its request digest and stored answer."""
    row = await fetch_one(
        conn,
        "SELECT request_hash, request_hash_scheme, status_code, response FROM idempotency_keys "
        "WHERE api_key_id = $1 AND idempotency_key = $2",
        api_key_id,
        key,
    )
    return row


async def store_answer(conn: Conn, api_key_id: uuid.UUID, key: str, status_code: int, body: object) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE api_key_id = $1 AND idempotency_key = $2",
        api_key_id,
        key,
        status_code,
        body,
    )


async def purge_expired(conn: Conn) -> int:
    """Deletes keys older than RETENTION_HOURS; returns how many. Run periodically by the app."""
    status_line: str = await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)", RETENTION_HOURS
    )
    return int(status_line.split()[-1])
