"""Throwaway real servers for the test suites: PostgreSQL, Redis and the local cluster."""
