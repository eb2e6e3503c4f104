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
# The data plane's own endpoints answer decrypted secrets, so only listener keys may call them.
LISTENER = frozenset({Role.listener})
