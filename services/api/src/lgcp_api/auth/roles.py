"""Roles and the actions each one is allowed."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    deployer = "deployer"
    viewer = "viewer"
    listener = "listener"


READ = frozenset({Role.admin, Role.deployer, Role.viewer})
DEPLOY = frozenset({Role.admin, Role.deployer})
ADMIN = frozenset({Role.admin})
# The data plane's own endpoints; admins may call them to debug or to run a listener.
LISTENER = frozenset({Role.listener, Role.admin})
