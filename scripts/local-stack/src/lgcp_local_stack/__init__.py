"""langgraph-controlplane on the local node: its images imported, the chart installed with
values/local.yaml, agents created through the API on the ingress. `make demo` runs it (`cli`);
tests/e2e and bench/first_request.py import it."""
