#!/usr/bin/env bash
# Regenerates the charts' README.md files from their values.yaml `# --` comments and
# README.md.gotmpl (helm-docs, pinned in tools/versions.env). tests/chart checks they are current.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
helm_docs=$root/.tools/bin/helm-docs
[[ -x $helm_docs ]] || { echo "chart-docs: helm-docs is not built: run 'make tools'" >&2; exit 1; }
cd "${1:-$root}/charts"
"$helm_docs" --chart-search-root . --skip-version-footer --sort-values-order file --log-level warning
