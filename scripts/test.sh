#!/usr/bin/env bash
# Runs the lint, type and import checks, then every test suite. pytest's exit code 5 ("no tests
# collected") is a failure here: a suite that silently runs nothing must never look green.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$root/.venv/bin:$PATH HELM_PLUGINS=$root/.tools/helm-plugins
mkdir -p artifacts
# Fast checks first: lint, formatting, types and import contracts (no servers needed).
scripts/lint.sh || exit 1
# The chart scanners tests/security runs (cached like the Go-built tools).
scripts/scanners.sh install || exit 1
# The images, before any test: the e2e and image suites' fixtures would otherwise carry a cold
# build (debootstrap bases, wheels) inside pytest's per-test timeout. Where podman cannot run
# containers, those suites skip and say why.
scripts/images.sh base || exit 1
if scripts/images.sh can-run; then
  scripts/images.sh build || exit 1
else
  echo "test: podman cannot run containers here; the image and e2e suites will skip" >&2
fi
.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "test: pytest collected no tests; treating that as a failure" >&2
  exit 1
fi
exit $rc
