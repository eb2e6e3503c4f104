#!/usr/bin/env bash
# Installs the chart's security scanners, pinned, into a cache outside the checkout (keyed by
# tool and version, like scripts/tools.sh), and links them into .tools/bin. Idempotent: a
# scanner already in the cache is only linked, so a warm run takes a second.
#
#   checkov     PyPI, in a virtualenv of its own (never the workspace's lock: its pins are its own)
#   kube-score  Go module github.com/zegl/kube-score (kube-linter's module is not served by the
#               Go module proxy, so kube-score is the second scanner)
#
# usage: scripts/scanners.sh install      (tests/security/test_chart_scanners.py runs both)
set -euo pipefail

CHECKOV_VERSION=3.3.30
KUBE_SCORE_VERSION=v1.20.0

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LGCP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lgcp-tools}
bin=$root/.tools/bin
die() { echo "scanners: $*" >&2; exit 1; }

install_checkov() {
  local dir=$cache/checkov-$CHECKOV_VERSION
  # .complete is written last: an interrupted install is redone, never linked half-made.
  if [[ ! -f $dir/.complete ]]; then
    echo "scanners: installing checkov $CHECKOV_VERSION into $dir" >&2
    command -v python3 >/dev/null || die "python3 is needed for checkov"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
    "$dir/bin/checkov" --version >/dev/null
    touch "$dir/.complete"
  fi
  ln -sfn "$dir/bin/checkov" "$bin/checkov"
}

install_kube_score() {
  local dir=$cache/kube-score-$KUBE_SCORE_VERSION
  if [[ ! -x $dir/kube-score ]]; then
    echo "scanners: building kube-score $KUBE_SCORE_VERSION into $dir" >&2
    command -v go >/dev/null || die "Go is needed to build kube-score (see scripts/tools.sh)"
    mkdir -p "$dir"
    CGO_ENABLED=0 GOFLAGS=-trimpath GOBIN=$dir go install -ldflags "-s -w -X main.version=$KUBE_SCORE_VERSION" \
      "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
  fi
  ln -sfn "$dir/kube-score" "$bin/kube-score"
}

case ${1:-} in
  install)
    mkdir -p "$bin" "$cache"
    install_kube_score
    install_checkov
    echo "scanners: checkov $CHECKOV_VERSION and kube-score $KUBE_SCORE_VERSION in $bin" >&2
    ;;
  *) die "usage: scripts/scanners.sh install" ;;
esac
