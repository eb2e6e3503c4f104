"""Label and annotation keys the listener puts on what it makes, and the field manager it applies as."""

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


def owned_selector(compute_id: str) -> str:
    """The label selector matching everything this listener made."""
    return f"{MANAGED_BY}={MANAGED_BY_VALUE},{LISTENER}={compute_id}"
