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

tools: ## build the pinned helm, helm-unittest, ct, etcd, kube-*, kwok and the real node's kubelet, containerd, CoreDNS, Traefik into .tools (cached)
	@scripts/tools.sh

cluster-up: tools ## start the local cluster: a real node (LGCP_CLUSTER=kwok: simulated); prints the kubeconfig path
	@scripts/cluster.sh up

cluster-down: ## stop the local cluster (LGCP_CLUSTER as for cluster-up); leaves the machine as it was
	@scripts/cluster.sh down

demo: setup tools images ## the whole product in the local node: chart installed, sample agent DEPLOYED and answering
	@.venv/bin/python -m lgcp_local_stack up

demo-down: ## remove what `make demo` made: the release, its namespaces, the node if it started it
	@.venv/bin/python -m lgcp_local_stack down

test: setup ## the Go tools and images (built side by side), lint, then every suite: pytest (api, listener, chart, e2e, faults, ...)
	@scripts/test.sh

lock: ## re-resolve uv.lock after changing a pyproject.toml, and re-export the images' requirements
	@uv lock --python python3
	@for s in api listener; do uv export --package lgcp-$$s --frozen --no-emit-workspace --no-dev --quiet -o services/$$s/requirements.txt; done

images: setup ## build every image offline with podman: api, listener, postgres, redis, sample and crashing agents
	@scripts/images.sh build

images-save: images ## write every image as an OCI archive under dist/images/ (podman load / docker load / ctr import)
	@scripts/images.sh save
