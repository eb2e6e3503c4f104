"""What rendering needs besides the deployment itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..configuration import PlatformEnv, RouteConfig


@dataclass(frozen=True)
class AgentConnections:
    """Where one agent's Postgres and Redis are, as its database mode hands them to the agent
    (URIs carry credentials: never log them)."""

    database_uri: str = field(repr=False)
    redis_uri: str = field(repr=False)


@dataclass(frozen=True)
class Owner:
    """The agent's Deployment, once it exists: children point at it."""

    name: str
    uid: str


@dataclass(frozen=True)
class RenderContext:
    """Everything rendering needs besides the deployment itself."""

    compute_id: str
    route: RouteConfig
    platform: PlatformEnv = field(default_factory=PlatformEnv)
