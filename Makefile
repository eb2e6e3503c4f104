# The one entry point. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/.venv/bin:$(PATH)
export HELM_PLUGINS := $(CURDIR)/.tools/helm-plugins
export KUBECONFIG_LOCAL := $(CURDIR)/.cache/local-cluster/kubeconfig

.PHONY: help setup tools cluster-up cluster-down demo demo-down test lock images images-save

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## Debian packages (PostgreSQL, Redis), uv, and the locked .venv with both services
	@scripts/setup.sh

tools: ## build the pinned helm, helm-unittest, ct, etcd, kube-*, kwok into .tools/bin (cached)
	@scripts/tools.sh

cluster-up: tools ## start the local kwok cluster; prints the kubeconfig path
	@scripts/cluster.sh up

cluster-down: ## stop the local cluster; leaves no process behind
	@scripts/cluster.sh down

demo: setup tools ## the whole product on the local cluster, a sample agent DEPLOYED; stays up until Ctrl-C
	@.venv/bin/python scripts/local_stack.py up

demo-down: ## stop what `make demo` started: its processes, and the local cluster if it started it
	@.venv/bin/python scripts/local_stack.py down

test: setup tools ## every suite: pytest (api, listener, chart, e2e, harness)
	@scripts/test.sh

lock: ## re-resolve uv.lock after changing a pyproject.toml, and re-export the images' requirements
	@uv lock --python python3
	@for s in api listener; do uv export --package lgcp-$$s --frozen --no-emit-workspace --no-dev --quiet -o services/$$s/requirements.txt; done

images: setup ## build both service images offline with podman, tagged with the chart's appVersion
	@scripts/images.sh build

images-save: images ## write both images as OCI archives under dist/images/ (podman load / docker load)
	@scripts/images.sh save
