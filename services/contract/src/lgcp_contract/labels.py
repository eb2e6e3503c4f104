"""Label and annotation keys on what the listener makes, and the field manager it applies as.

The API refuses user labels under the platform's prefixes, so a user label can never overwrite
one the listener selects or fences by.
"""

from __future__ import annotations

FIELD_MANAGER = "lgcp-listener"
PREFIX = "lgcp.dev"

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "lgcp-listener"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
LISTENER = f"{PREFIX}/listener"
DEPLOYMENT_ID = f"{PREFIX}/deployment-id"
REVISION_ID = f"{PREFIX}/revision-id"

APPLIED_HASH = f"{PREFIX}/applied-hash"
ENV_HASH = f"{PREFIX}/env-hash"

# User labels may not start with these.
RESERVED_LABEL_PREFIXES = ("app.kubernetes.io/", f"{PREFIX}/")


def owned_selector(compute_id: str) -> str:
    """The label selector matching everything this listener made."""
    return f"{MANAGED_BY}={MANAGED_BY_VALUE},{LISTENER}={compute_id}"
