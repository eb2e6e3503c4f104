"""Tenants (workspaces) and their API keys."""
