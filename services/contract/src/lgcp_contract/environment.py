"""Environment variable names the platform sets for every agent itself.

A user secret of one of these names would silently break the agent, so the API refuses them.
"""

from __future__ import annotations

RESERVED_ENV_NAMES = frozenset(
    {
        "DATABASE_URI",
        "POSTGRES_URI",
        "REDIS_URI",
        "PORT",
        "MOUNT_PREFIX",
        "LANGGRAPH_CLOUD_LICENSE_KEY",
        "LANGSMITH_API_KEY",
        "LANGSMITH_ENDPOINT",
        "LANGCHAIN_API_KEY",
        "LANGCHAIN_ENDPOINT",
        "LANGSMITH_TRACING",
        "LANGCHAIN_TRACING_V2",
        "LANGGRAPH_HTTP",
        "LANGGRAPH_STORE",
        "LANGSMITH_LANGGRAPH_API_VARIANT",
    }
)
