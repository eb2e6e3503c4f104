"""langgraph-controlplane control-plane API."""

__version__ = "0.1.0"
