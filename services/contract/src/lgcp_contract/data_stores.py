"""Where a listener keeps its agents' databases, as it reports it when it registers.

The identity is opaque to the API: two listeners reporting the same one reach the same database
servers, so a deployment moved from one to the other keeps its data. It never holds a host name,
user or password (the API shows it to every reader of the listener).
"""

from __future__ import annotations

import hashlib
import re
import uuid

# `dedicated` mode: each agent's Postgres runs beside it in its own cluster, never shared.
DEDICATED = "dedicated"
PATTERN = r"^(dedicated|shared:[0-9a-f]{32}|external:[0-9a-f]{64})$"
_PATTERN = re.compile(PATTERN)


def shared_store(server_id: uuid.UUID) -> str:
    """`shared` mode: the id kept in the shared Postgres server itself (one per server)."""
    return f"shared:{server_id.hex}"


def external_store(database_uri_template: str) -> str:
    """`external` mode: the database template without its credentials, hashed; two listeners
    with the same template reach the same databases."""
    without_credentials = re.sub(r"//[^@/]*@", "//", database_uri_template)
    return "external:" + hashlib.sha256(without_credentials.encode()).hexdigest()


def is_valid(store: str) -> bool:
    return _PATTERN.fullmatch(store) is not None


def shares_data(a: str | None, b: str | None) -> bool:
    """Whether agents' databases are the same for listeners reporting `a` and `b` (unknown or
    dedicated never are)."""
    return a is not None and a == b and a != DEDICATED
