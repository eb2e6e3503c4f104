"""Opens the database mode the settings name (the one place that knows all three)."""

from __future__ import annotations

from ..configuration import DatabasesConfig
from ..kube.client import Kube
from ..render.context import RenderContext
from .dedicated.mode import DedicatedMode
from .external import ExternalMode
from .mode import DatabaseMode
from .shared.mode import SharedMode


def open_database_mode(config: DatabasesConfig, kube: Kube, ctx: RenderContext) -> DatabaseMode:
    """The configured mode, ready to use; `close()` it when done."""
    if config.shared is not None:
        return SharedMode.from_config(config.shared)
    if config.external is not None:
        return ExternalMode(config.external)
    if config.dedicated is not None:
        return DedicatedMode(kube, config.dedicated, ctx)
    raise ValueError(f"database mode {config.mode!r} has no configuration")
