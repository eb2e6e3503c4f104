"""The database-mode strategy: what the reconcile step asks of `shared`, `external` and `dedicated`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from lgcp_contract.desired_state import DesiredDeployment

from ..objects import Manifest
from ..render.context import AgentConnections, Owner
from ..status.rollout import Rollout

ObjectLookup = Callable[[str, str], Manifest | None]
"""(kind, name) -> the watched object of that name in the agent's namespace, or None."""

DATABASES_READY = Rollout("complete", "databases ready")


class DatabaseModeError(RuntimeError):
    """An agent's databases cannot be set up as things stand; the message says why and what to
    do. The revision fails with it, and the pass is retried (a number may be freed, a setting or
    an object fixed)."""


class DatabaseMode(Protocol):
    """Where one agent's databases are, and their life cycle, in one database mode."""

    # Kinds of the objects the mode adds for an agent, watched like the agent's own.
    kinds: tuple[str, ...]
    # Whether `provision` makes something: the env Secret holding the new credentials is then
    # written first, so that a crash between the two never loses a password.
    needs_provisioning: bool

    def owned_names(self, name: str) -> list[tuple[str, str]]:
        """(kind, name) of what the mode makes for agent `name`, in its namespace: each must be
        the agent's own (or absent) before the agent is first created."""
        ...

    async def connections(self, desired: DesiredDeployment, env_secret: Manifest | None) -> AgentConnections:
        """The URIs the agent gets; credentials stored in `env_secret` (the agent's env Secret,
        when it is the agent's) are read back, new ones made the first time."""
        ...

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        """Makes the databases `conn` points at exist with its credentials (idempotent)."""
        ...

    def objects(self, desired: DesiredDeployment, conn: AgentConnections, owner: Owner | None) -> list[Manifest]:
        """Kubernetes objects the mode adds for the agent (unstamped; pure)."""
        ...

    def rollout(self, desired: DesiredDeployment, lookup: ObjectLookup, pods: list[Manifest]) -> Rollout:
        """Whether the agent's databases are ready, from the watched objects and the agent's
        pods (pure). The deployment is READY once they are."""
        ...

    async def data_store(self) -> str:
        """Where agents' databases are, as an identity (lgcp_contract.data_stores) the listener
        registers with: equal for two listeners using the same servers."""
        ...

    async def release(self, desired: DesiredDeployment) -> None:
        """Drops the agent's data: only on a deletion the API asked for, with retention `delete`."""
        ...

    async def close(self) -> None:
        """Stops background work and closes connections."""
        ...
