"""What the control-plane API and the data-plane listener agree on.

Both services depend on this package, so a constant or a wire model changes in one place:
statuses, the notification stream's key, the environment and label names the platform keeps
for itself, and the name budget that keeps every derived Kubernetes name within 63 characters.
It imports nothing from either service.
"""
