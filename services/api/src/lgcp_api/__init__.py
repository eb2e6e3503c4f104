"""langgraph-controlplane control-plane API."""
