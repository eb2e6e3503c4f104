#!/usr/bin/env bash
# One-time machine and workspace set-up: Debian packages the tests need (PostgreSQL and Redis
# servers, Chromium for the UI tests), uv, and the locked virtual environment with both
# services installed editable.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

need_pkgs=()
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need_pkgs+=(postgresql)
command -v git >/dev/null || need_pkgs+=(git)
# The web UI's browser tests drive Debian's Chromium (never a browser Playwright downloads).
[[ -x /usr/bin/chromium ]] || need_pkgs+=(chromium)
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
  echo "setup: installing Debian packages: ${need_pkgs[*]}"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # Debian starts the packaged servers; the tests start their own throwaway ones.
  $sudo systemctl disable --now redis-server postgresql >/dev/null 2>&1 || true
fi

if ! command -v uv >/dev/null; then
  echo "setup: installing uv from PyPI"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
fi
uv=$(command -v uv || echo "$(python3 -m site --user-base)/bin/uv")
export UV_PYTHON_DOWNLOADS=never
"$uv" sync --locked --python python3 --quiet
echo "setup: .venv ready ($(.venv/bin/python --version))"
