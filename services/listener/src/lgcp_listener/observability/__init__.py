"""What the listener tells people about itself: Prometheus metrics, /healthz and /readyz, and
failure descriptions fit for a log line (never carrying a secret value)."""
