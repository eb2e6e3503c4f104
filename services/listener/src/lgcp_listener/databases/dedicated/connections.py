"""What dedicated mode hands an agent, and what it knows about the stored passwords."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...objects import Manifest
from ...render.context import AgentConnections


@dataclass(frozen=True)
class DedicatedAgentConnections(AgentConnections):
    """The URIs, the passwords they carry, and what is already stored (never log these)."""

    postgres_password: str = field(default="", repr=False)
    redis_password: str = field(default="", repr=False)
    stored: bool = False  # the credentials Secret already holds these passwords
    credentials_found: bool = False  # it exists (perhaps missing a key someone removed)
    # The live StatefulSet's claim template (labels, size, class), which can no longer change.
    postgres_claim: Manifest | None = None


def dedicated(conn: AgentConnections) -> DedicatedAgentConnections:
    """`conn` as dedicated mode made it (TypeError otherwise: another mode's connections)."""
    if not isinstance(conn, DedicatedAgentConnections):
        raise TypeError("dedicated mode renders from DedicatedAgentConnections")
    return conn
