"""Revisions: each change of what a deployment runs, and its way to DEPLOYED."""
