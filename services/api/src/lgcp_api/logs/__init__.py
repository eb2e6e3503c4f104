"""Runtime logs of deployments: shipped by the listener, served in LangSmith's logs shape."""
