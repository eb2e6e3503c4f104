#!/usr/bin/env bash
# Builds what the suites need (the Go tools, the images, the chart scanners), runs the lint, type
# and import checks, then every test suite. pytest's exit code 5 ("no tests collected") is a
# failure here: a suite that silently runs nothing must never look green.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$root/.venv/bin:$PATH HELM_PLUGINS=$root/.tools/helm-plugins
mkdir -p artifacts
# The images build beside the Go tools: debootstrap and wheel downloads wait on the network
# while Go compiles, which saves about ten minutes on a cold machine. They are built before any
# test, or the e2e and image suites' fixtures would carry a cold build inside pytest's per-test
# timeout. Where podman cannot run containers, those suites skip and say why.
images_log=artifacts/images-build.log
# In a process group of its own (set -m), so that a failure before it ends, or an interrupt,
# stops debootstrap and podman with it.
set -m
(
  scripts/images.sh base || exit 1
  if scripts/images.sh can-run; then
    scripts/images.sh build
  else
    echo "test: podman cannot run containers here; the image and e2e suites will skip"
  fi
) >"$images_log" 2>&1 &
images=$!
set +m
stop_images() { kill -- -"$images" 2>/dev/null; wait "$images" 2>/dev/null; }
trap stop_images EXIT
scripts/tools.sh || exit 1
# Fast checks: lint, formatting, types and import contracts (no servers needed).
scripts/lint.sh || exit 1
# The chart scanners tests/security runs (cached like the Go-built tools).
scripts/scanners.sh install || exit 1
if ! wait "$images"; then
  cat "$images_log" >&2
  echo "test: building the images failed (log above, also in $images_log)" >&2
  exit 1
fi
trap - EXIT
grep -E '^(images|test):' "$images_log" | tail -n 12
.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "test: pytest collected no tests; treating that as a failure" >&2
  exit 1
fi
exit $rc
