"""What an agent's Redis ACL user may do (pure), and the error of a Redis that refuses users.

Redis cannot separate databases the way PostgreSQL does: the ACL user stops an agent from
selecting another number, moving or copying keys across, flushing the server and running
admin commands, and keeps it away from the control plane's keys (`lgcp:*`, in database 0
where every connection starts); Pub/Sub channels, Lua functions and server statistics stay
server-wide. Dedicated mode is the hard isolation.
"""

from __future__ import annotations

import hashlib

from lgcp_contract.streams import CONTROL_PLANE_KEY_PREFIX

from ..mode import DatabaseModeError


def _keys_outside(prefix: str) -> tuple[str, ...]:
    """Key patterns matching exactly the names that do not start with `prefix` (Redis key
    patterns have no negation: a name leaves the prefix at its first differing character, or is
    one of the prefix's own shorter beginnings)."""
    differing = tuple(f"~{prefix[:i]}[^{prefix[i]}]*" for i in range(len(prefix)))
    beginnings = tuple(f"~{prefix[:i]}" for i in range(1, len(prefix)))
    return differing + beginnings


# Every key but the control plane's (`lgcp:*`).
AGENT_KEY_PATTERNS = _keys_outside(CONTROL_PLANE_KEY_PREFIX)
# What else an agent may not do: reach another database (SELECT is allowed for its own number
# only, MOVE and COPY take a target database), run admin or server-wide destructive commands
# (@dangerous holds FLUSHALL, FLUSHDB, SWAPDB, MIGRATE, KEYS, INFO, CONFIG, ...), or empty the
# server-wide script and function caches other agents use.
AGENT_DENIED = (
    "-@admin",
    "-@dangerous",
    "-select",
    "-move",
    "-copy",
    "-function|flush",
    "-function|delete",
    "-function|restore",
    "-script|flush",
)


class RedisAclError(DatabaseModeError):
    """The agents' Redis refused to create an agent's ACL user."""


def password_sha256(password: str) -> str:
    """What Redis keeps of a user's password (ACL SETUSER takes it as `#<hash>`)."""
    return hashlib.sha256(password.encode()).hexdigest()


def acl_rules(number: int, password_hash: str) -> list[str]:
    """ACL SETUSER rules of an agent's user: everything a LangGraph server does with keys,
    streams, lists, scripts and Pub/Sub in database `number`, and nothing beyond it. `reset`
    first, so that applying them again (a restart, a changed number) gives exactly these."""
    return ["reset", "on", f"#{password_hash}", *AGENT_KEY_PATTERNS, "&*", "+@all", *AGENT_DENIED, f"+select|{number}"]


def refused(exc: Exception) -> RedisAclError:
    """The error for a Redis that refused ACL SETUSER, naming the switch that turns users off."""
    return RedisAclError(
        f"the agents' Redis refused ACL SETUSER ({exc}): it needs Redis 7 or later and the "
        "agents' Redis URL's user must be allowed to manage users; where it cannot be, turn "
        "the agents' ACL users off (LGCP_LISTENER_AGENT_REDIS_ACL=false, chart value "
        "listener.database.redisAcl=false) and agents share that URL's credentials"
    )
