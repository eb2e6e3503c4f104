"""Listeners: the data-plane agents that run deployments in a cluster."""
