"""What dedicated mode calls each object of agent `name`, and the URIs of its own servers (pure)."""

from __future__ import annotations

from urllib.parse import quote

from lgcp_contract.desired_state import DesiredDeployment

POSTGRES, REDIS = "postgres", "redis"  # component labels of the database pods
POSTGRES_PORT, REDIS_PORT = 5432, 6379
DATABASE_USER = DATABASE_NAME = "langgraph"
CLAIM = "data"
POSTGRES_PASSWORD_KEY, REDIS_PASSWORD_KEY = "postgres-password", "redis-password"


def postgres_name(name: str) -> str:
    """The Postgres StatefulSet and Service of agent `name`."""
    return f"{name}-postgres"


def redis_name(name: str) -> str:
    """The Redis StatefulSet and Service of agent `name`."""
    return f"{name}-redis"


def server_name(name: str, component: str) -> str:
    """The StatefulSet and Service of one of agent `name`'s databases."""
    return postgres_name(name) if component == POSTGRES else redis_name(name)


def credentials_secret_name(name: str) -> str:
    """The Secret holding the agent's database passwords (kept with its data)."""
    return f"{name}-db-credentials"


def network_policy_name(name: str) -> str:
    """The NetworkPolicy that lets only the agent's own pods reach its databases."""
    return f"{name}-databases"


def volume_claim_name(name: str) -> str:
    """The Postgres volume's claim, as the StatefulSet controller names it (ordinal 0)."""
    return f"{CLAIM}-{postgres_name(name)}-0"


def owned_names(name: str) -> list[tuple[str, str]]:
    """(kind, name) of everything this mode makes for agent `name`, its volume claim included:
    all must be the agent's own before its first creation."""
    return [
        ("Secret", credentials_secret_name(name)),
        ("StatefulSet", postgres_name(name)),
        ("Service", postgres_name(name)),
        ("StatefulSet", redis_name(name)),
        ("Service", redis_name(name)),
        ("NetworkPolicy", network_policy_name(name)),
        ("PersistentVolumeClaim", volume_claim_name(name)),
    ]


def host(desired: DesiredDeployment, service: str) -> str:
    """A Service's address in the agent's namespace."""
    return f"{service}.{desired.namespace}.svc"


def database_uri(desired: DesiredDeployment, password: str) -> str:
    """The agent's `postgresql://` URI of its own Postgres."""
    return (
        f"postgresql://{DATABASE_USER}:{quote(password, safe='')}@"
        f"{host(desired, postgres_name(desired.name))}:{POSTGRES_PORT}/{DATABASE_NAME}"
    )


def redis_uri(desired: DesiredDeployment, password: str) -> str:
    """The agent's `redis://` URI of its own Redis (database 0)."""
    return f"redis://:{quote(password, safe='')}@{host(desired, redis_name(desired.name))}:{REDIS_PORT}/0"
