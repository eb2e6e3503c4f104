"""langgraph-controlplane data-plane listener."""
