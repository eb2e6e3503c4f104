"""Pure helpers without I/O: Kubernetes name rules, image references, a TTL cache."""
