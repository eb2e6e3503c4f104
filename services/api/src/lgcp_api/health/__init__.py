"""Liveness, readiness and metrics, served at the root rather than under the API prefix."""
