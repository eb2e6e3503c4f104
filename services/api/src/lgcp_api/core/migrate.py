"""Schema migrations: plain SQL files applied by yoyo, serialised by a Postgres advisory lock."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works as long as every migrating process uses the same one.
_ADVISORY_LOCK_ID = 0x6C676370  # "lgcp"


def _yoyo_url(database_url: str) -> str:
    _, rest = database_url.split("://", 1)
    return f"postgresql+psycopg://{rest}"


def apply_migrations(database_url: str) -> list[str]:
    """Applies every pending migration and returns their ids; a no-op when up to date.

    Two pods may run this at the same time (pre-upgrade hooks, manual runs): the advisory lock
    makes the second wait and then find nothing left to do. yoyo's own lock table is not enough
    on its own because creating yoyo's bookkeeping tables races before that lock exists.
    """
    with psycopg.connect(database_url, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (_ADVISORY_LOCK_ID,))
        try:
            backend = get_backend(_yoyo_url(database_url))
            try:
                migrations = read_migrations(str(MIGRATIONS))
                with backend.lock():
                    pending = backend.to_apply(migrations)
                    backend.apply_migrations(pending)
                applied = [m.id for m in pending]
            finally:
                backend.connection.close()
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK_ID,))
    for migration_id in applied:
        log.info("applied migration", extra={"migration": migration_id})
    return applied
