"""Runtime logs of the agents, read here and shipped to the control plane (which never calls
the data plane): `lines` (parsing, levels, redaction: pure), `crashes` (a container's crash as an
ERROR entry: pure), `collector` (what to read from the Kubernetes API, bounded per pod),
`shipping` (the periodic loop)."""
