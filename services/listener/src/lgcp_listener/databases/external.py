"""`external` database mode: connection templates filled with the agent's name and id; the
databases are managed outside the listener, so there is nothing to provision or drop."""

from __future__ import annotations

from lgcp_contract.data_stores import external_store
from lgcp_contract.desired_state import DesiredDeployment

from ..configuration import ExternalDatabasesConfig
from ..objects import Manifest
from ..render.context import AgentConnections, Owner
from ..status.rollout import Rollout
from .mode import DATABASES_READY, ObjectLookup
from .shared.identifiers import identifier


class ExternalMode:
    """URIs from templates with `{name}`, `{deployment_id}` and `{database}` (the shared mode's
    database name for the agent)."""

    kinds: tuple[str, ...] = ()
    needs_provisioning = False

    def __init__(self, config: ExternalDatabasesConfig) -> None:
        self.config = config

    def _fill(self, template: str, desired: DesiredDeployment) -> str:
        return template.format(name=desired.name, deployment_id=desired.id, database=identifier(desired.id))

    def owned_names(self, name: str) -> list[tuple[str, str]]:
        return []

    async def connections(self, desired: DesiredDeployment, env_secret: Manifest | None) -> AgentConnections:
        """The templates filled in for this agent."""
        redis = self._fill(self.config.redis_uri_template, desired) if self.config.redis_uri_template else ""
        return AgentConnections(self._fill(self.config.database_uri_template, desired), redis)

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        """Nothing to create: external databases are managed outside the listener."""

    def objects(self, desired: DesiredDeployment, conn: AgentConnections, owner: Owner | None) -> list[Manifest]:
        return []

    def rollout(self, desired: DesiredDeployment, lookup: ObjectLookup, pods: list[Manifest]) -> Rollout:
        return DATABASES_READY

    async def data_store(self) -> str:
        """The database template without its credentials, hashed."""
        return external_store(self.config.database_uri_template)

    async def release(self, desired: DesiredDeployment) -> None:
        """Nothing to drop: external databases are managed outside the listener."""

    async def close(self) -> None:
        """Nothing to close."""
