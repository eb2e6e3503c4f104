"""Per-deployment metrics: gathered on an interval, shipped to the API, exposed on /metrics."""
