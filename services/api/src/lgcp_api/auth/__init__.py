"""API keys, the caller's identity and tenant, and what each role may do."""
