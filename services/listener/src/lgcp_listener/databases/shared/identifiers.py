"""Names and URIs of an agent's part of the shared servers (pure)."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, urlsplit, urlunsplit


def identifier(deployment_id: str) -> str:
    """The agent's Postgres role and database name: `lgcp_` + its id, safe and at most 63 bytes."""
    cleaned = re.sub(r"[^a-z0-9_]", "", deployment_id.lower())
    if len(cleaned) > 50:
        cleaned = hashlib.sha256(deployment_id.encode()).hexdigest()[:40]
    return f"lgcp_{cleaned}"


def redis_user(deployment_id: str) -> str:
    """The agent's Redis ACL user: the name of its Postgres role."""
    return identifier(deployment_id)


def redis_uri(base: str, number: int, user: str | None = None, password: str | None = None) -> str:
    """`base` (a redis:// URL, any db path dropped) pointing at database `number`; with `user`,
    that user and `password` replace the credentials of `base`."""
    parts = urlsplit(base)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, f"/{number}", parts.query, ""))


def postgres_uri(deployment_id: str, password: str, host: str, port: int) -> str:
    """The agent's own `postgresql://` URI, as its pods reach the server."""
    name = identifier(deployment_id)
    return f"postgresql://{name}:{quote(password, safe='')}@{host}:{port}/{name}"
