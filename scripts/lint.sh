#!/usr/bin/env bash
# Lint, format, type and import checks, run by `make test` before the suites (fast, no servers).
#   ruff check + ruff format --check  over every Python file (policy: ruff.toml)
#   mypy --strict                     per package (config: each package's pyproject.toml), and the
#                                     listener's and contract's tests with bench/reconcile.py
#                                     (config: services/listener/mypy-tests.ini)
#   lint-imports                      the repository's contracts (.importlinter) and each
#                                     service's layer rules (services/<service>/.importlinter)
# `scripts/lint.sh --fix` applies ruff's fixes and formatting first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=$root/.venv/bin
[[ -x $bin/ruff ]] || { echo "lint: .venv is missing ruff/mypy/import-linter: run 'make setup'" >&2; exit 1; }

paths=(services scripts tests bench)
if [[ ${1:-} == --fix ]]; then
  "$bin/ruff" check --fix --quiet "${paths[@]}" || true
  "$bin/ruff" format --quiet "${paths[@]}"
fi

failed=()
step() { local name=$1; shift; echo "lint: $name" >&2; "$@" || failed+=("$name"); }

step "ruff check" "$bin/ruff" check --quiet "${paths[@]}"
step "ruff format" "$bin/ruff" format --check --quiet "${paths[@]}"
for pkg in contract api listener; do
  step "mypy services/$pkg" bash -c "cd services/$pkg && '$bin/mypy' --no-error-summary"
done
step "mypy listener and contract tests" "$bin/mypy" --no-error-summary --config-file services/listener/mypy-tests.ini
step "import contracts" "$bin/lint-imports" --no-cache --config .importlinter
for svc in api listener; do
  [[ -f services/$svc/.importlinter ]] && step "import layers of $svc" "$bin/lint-imports" --no-cache --config "services/$svc/.importlinter"
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "lint: failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint: ruff, mypy and import contracts pass" >&2
