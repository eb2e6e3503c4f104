#!/usr/bin/env bash
# Builds the two service images with podman, offline, tagged with the chart's appVersion.
#
# usage: scripts/images.sh base                 installs podman, makes the local base image
#        scripts/images.sh build [SERVICE...]   (default: api listener)
#        scripts/images.sh save                 OCI archives under dist/images/
#        scripts/images.sh can-run              exits 0 when podman can run a container here
#
# The Dockerfiles take any Python 3.11 base image (a slim official one by default). Here no
# registry is reachable, so a Debian bookworm base is made once with debootstrap and imported;
# the Python wheels are downloaded on the host (pip inside a build container does not trust
# this machine's certificate chain) and the build itself runs with no network.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LGCP_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lgcp-images}
# podman as it works on this kind of machine: crun fails on its cgroups, the default ulimits
# cannot be applied.
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
BASE_PACKAGES=python3,python3-venv,ca-certificates
BASE_IMAGE=localhost/lgcp-python-base:bookworm-$(echo "$BASE_PACKAGES" | sha256sum | cut -c1-12)
DEBIAN_MIRROR=${LGCP_DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "images: $*" >&2; exit 1; }

app_version() {
  local v
  v=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$root/charts/langgraph-controlplane/Chart.yaml")
  [[ -n $v ]] || die "no appVersion in charts/langgraph-controlplane/Chart.yaml"
  echo "$v"
}

ensure_packages() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ ${#missing[@]} -eq 0 ]] && return
  echo "images: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The local stand-in for a slim Python base image, made once per package list.
ensure_base_image() {
  if "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
    return
  fi
  local start=$SECONDS rootfs
  echo "images: making $BASE_IMAGE with debootstrap ..."
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$DEBIAN_MIRROR" >"$cache/debootstrap.log" 2>&1 ||
    die "debootstrap failed (log: $cache/debootstrap.log)"
  # What a slim base image leaves out: package caches, documentation, locales.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/{doc,man,info,locale}/*
  local python_version
  python_version=$(chroot "$rootfs" python3 -c 'import platform; print(platform.python_version())')
  tar -C "$rootfs" -c . | "${PODMAN[@]}" import --change 'CMD ["python3"]' \
    --change "LABEL org.lgcp.python-version=$python_version" - "$BASE_IMAGE" >/dev/null 2>>"$cache/debootstrap.log"
  rm -rf "$rootfs"
  echo "images: made $BASE_IMAGE in $((SECONDS - start))s"
}

# stage_context SERVICE: the build context, with the locked requirements and their wheels.
stage_context() {
  local svc=$1 ctx=$cache/context/$1
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$root/services/$svc/." "$ctx/"
  rm -rf "$ctx/wheels"
  mkdir -p "$cache/wheels"
  # Wheels for the image's Python (manylinux x86_64), not the host's, with markers evaluated for
  # the image's interpreter; plus the build backend that installs the service itself.
  local python_version download
  python_version=$("${PODMAN[@]}" image inspect --format '{{ index .Labels "org.lgcp.python-version" }}' "$BASE_IMAGE")
  "$root/.venv/bin/python" "$root/scripts/requirements_for_target.py" "$ctx/requirements.txt" "$python_version" \
    >"$ctx/requirements.target.txt"
  download=("$root/.venv/bin/python" -m pip download --quiet --disable-pip-version-check --dest "$cache/wheels"
    --only-binary=:all: --python-version "$python_version" --implementation cp
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64)
  "${download[@]}" --no-deps --require-hashes -r "$ctx/requirements.target.txt" >/dev/null ||
    die "downloading the wheels of services/$svc/requirements.txt failed"
  "${download[@]}" hatchling >/dev/null || die "downloading the hatchling build backend failed"
  rm "$ctx/requirements.target.txt"
  mkdir -p "$ctx/wheels" && cp "$cache/wheels"/*.whl "$ctx/wheels/"
  echo "$ctx"
}

build() {
  local svc=$1 version ctx start
  version=$(app_version)
  [[ -f $root/services/$svc/Dockerfile ]] || die "services/$svc/Dockerfile is missing"
  start=$SECONDS
  ctx=$(stage_context "$svc")
  "${PODMAN[@]}" build --network=none "${ULIMITS[@]}" --quiet \
    --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg VERSION="$version" \
    --build-arg REVISION="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)" \
    --tag "localhost/lgcp-$svc:$version" "$ctx" >/dev/null
  echo "images: built localhost/lgcp-$svc:$version in $((SECONDS - start))s," \
    "$("${PODMAN[@]}" image inspect --format '{{.Size}}' "localhost/lgcp-$svc:$version" | numfmt --to=iec)"
}

case ${1:-} in
  base)
    ensure_packages
    mkdir -p "$cache"
    ensure_base_image
    ;;
  build)
    shift
    ensure_packages
    mkdir -p "$cache"
    ensure_base_image
    services=("$@")
    [[ ${#services[@]} -gt 0 ]] || services=(api listener)
    for s in "${services[@]}"; do build "$s"; done
    ;;
  save)
    version=$(app_version)
    mkdir -p "$root/dist/images"
    for s in api listener; do
      out=$root/dist/images/lgcp-$s-$version.oci.tar
      rm -f "$out"
      "${PODMAN[@]}" save --quiet --format oci-archive -o "$out" "localhost/lgcp-$s:$version"
      echo "images: wrote $out ($(du -h "$out" | cut -f1))"
    done
    ;;
  can-run)
    "${PODMAN[@]}" run --rm --network=none "${ULIMITS[@]}" "$BASE_IMAGE" true >/dev/null 2>&1
    ;;
  *) die "usage: $0 base | build [api|listener...] | save | can-run" ;;
esac
