"""JSON logs with request ids, Prometheus metrics, and the middleware that feeds both."""
