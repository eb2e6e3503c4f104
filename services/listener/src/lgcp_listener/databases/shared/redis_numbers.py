"""Choosing a Redis database number no other agent holds (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from ..mode import DatabaseModeError


class NoRedisDatabaseLeft(DatabaseModeError):
    """Every database number of the agents' Redis is taken."""


def pick_free(used: Iterable[int], databases: int) -> int:
    """The lowest number in 1..databases-1 not in `used` (0 is left to the platform).

    Raises NoRedisDatabaseLeft, naming the setting to raise, when all are taken.
    """
    taken = set(used)
    for number in range(1, databases):
        if number not in taken:
            return number
    raise NoRedisDatabaseLeft(
        f"all {databases - 1} Redis database numbers of the agents' Redis are in use; raise the "
        "server's `databases` and LGCP_LISTENER_AGENT_REDIS_DATABASES, or use database_mode=dedicated"
    )
