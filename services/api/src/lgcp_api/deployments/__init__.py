"""Deployments: the LangGraph servers a tenant wants running."""
