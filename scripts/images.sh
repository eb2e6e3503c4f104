#!/usr/bin/env bash
# Builds the project's images with podman, offline: the two services (tagged with the chart's
# appVersion), the Postgres and Redis that values/local.yaml runs, the sample agent (two
# revisions) and a crashing agent for the failure tests.
#
# usage: scripts/images.sh base                 installs podman, makes the local base images
#        scripts/images.sh build [IMAGE...]     (default: every image below)
#        scripts/images.sh save [IMAGE|REF...]  OCI archives under dist/images/
#        scripts/images.sh refs [IMAGE...]      the references an image name builds, one a line
#        scripts/images.sh archive REF          the OCI archive of one reference (for a node import)
#        scripts/images.sh can-run              exits 0 when podman can run a container here
#
# IMAGE: api listener postgres redis sample-agent crashing-agent.
#
# Every Dockerfile takes an ordinary base image (a slim official one by default) and builds
# anywhere with a registry. Here no registry is reachable, so Debian bookworm bases are made once
# with debootstrap (with Debian's Python, or PostgreSQL, or Redis already in them) and imported;
# the Python wheels are downloaded on the host (pip inside a build container does not trust this
# machine's certificate chain) and the builds themselves run with no network.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LGCP_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lgcp-images}
# podman as it works on this kind of machine: crun fails on its cgroups, the default ulimits
# cannot be applied.
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
DEBIAN_MIRROR=${LGCP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ALL_IMAGES=(api listener postgres redis sample-agent crashing-agent)
# The Debian packages of each base; a base's tag carries a hash of its list.
declare -A BASE_PACKAGES=(
  [python]=python3,python3-venv,ca-certificates
  [postgres]=postgresql-15,ca-certificates
  [redis]=redis-server
)
# Tags of the images that are not the services (those carry the chart's appVersion).
POSTGRES_TAG=15-bookworm
REDIS_TAG=7.0-bookworm
SAMPLE_AGENT_REVISIONS=(1 2)
CRASHING_AGENT_TAG=1

die() { echo "images: $*" >&2; exit 1; }

app_version() {
  local v
  v=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$root/charts/langgraph-controlplane/Chart.yaml")
  [[ -n $v ]] || die "no appVersion in charts/langgraph-controlplane/Chart.yaml"
  echo "$v"
}

base_image() {
  echo "localhost/lgcp-$1-base:bookworm-$(echo "${BASE_PACKAGES[$1]}" | sha256sum | cut -c1-12)"
}

# refs IMAGE: the references `build IMAGE` makes.
refs() {
  case $1 in
    api | listener) echo "localhost/lgcp-$1:$(app_version)" ;;
    postgres) echo "localhost/lgcp-postgres:$POSTGRES_TAG" ;;
    redis) echo "localhost/lgcp-redis:$REDIS_TAG" ;;
    sample-agent) for r in "${SAMPLE_AGENT_REVISIONS[@]}"; do echo "localhost/lgcp-sample-agent:$r"; done ;;
    crashing-agent) echo "localhost/lgcp-crashing-agent:$CRASHING_AGENT_TAG" ;;
    *) die "unknown image '$1' (known: ${ALL_IMAGES[*]})" ;;
  esac
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

# ensure_base_image KIND: the local stand-in for a slim base image, made once per package list.
ensure_base_image() {
  local kind=$1 image start rootfs log
  image=$(base_image "$kind")
  if "${PODMAN[@]}" image exists "$image"; then
    return
  fi
  start=$SECONDS
  log=$cache/debootstrap-$kind.log
  echo "images: making $image with debootstrap ..."
  rootfs=$(mktemp -d)
  # The downloaded packages are kept: the next base reuses most of them.
  mkdir -p "$cache/debs"
  debootstrap --variant=minbase --cache-dir="$cache/debs" --include="${BASE_PACKAGES[$kind]}" bookworm "$rootfs" \
    "$DEBIAN_MIRROR" >"$log" 2>&1 || { rm -rf "$rootfs"; die "debootstrap failed (log: $log)"; }
  # What a slim base image leaves out: package caches, documentation, locales.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/{doc,man,info,locale}/*
  local labels=()
  if [[ $kind == python ]]; then
    labels=(--change "LABEL org.lgcp.python-version=$(chroot "$rootfs" python3 -c 'import platform; print(platform.python_version())')")
  fi
  tar -C "$rootfs" -c . | "${PODMAN[@]}" import --change 'CMD ["bash"]' "${labels[@]}" - "$image" >/dev/null 2>>"$log"
  rm -rf "$rootfs"
  echo "images: made $image in $((SECONDS - start))s"
}

# stage_wheels REQUIREMENTS DEST: the wheels (and sdists of pure-Python projects that publish no
# wheel) of a hash-pinned requirements file, for the base image's Python (manylinux x86_64) with
# markers evaluated for that interpreter, plus the build backends that install local projects.
stage_wheels() {
  local requirements=$1 dest=$2 python_version download target folder
  python_version=$("${PODMAN[@]}" image inspect --format '{{ index .Labels "org.lgcp.python-version" }}' "$(base_image python)")
  [[ -n $python_version ]] || die "$(base_image python) has no org.lgcp.python-version label: remove it and rerun"
  target=$(mktemp)
  "$root/.venv/bin/python" "$root/scripts/requirements_for_target.py" "$requirements" "$python_version" >"$target"
  # One folder per content of the target's requirements: a file downloaded before is not asked
  # for again (pip would query the index for every line), and a context gets only its own files.
  folder=$cache/wheels/$(sha256sum "$target" | cut -c1-16)
  if [[ ! -f $folder/.complete ]]; then
    rm -rf "$folder" && mkdir -p "$folder"
    # --no-deps: the file pins everything. Not --only-binary: a pure-Python project with only an
    # sdist (the sample agent's forbiddenfruit) is built inside the image from its hashed sdist.
    download=("$root/.venv/bin/python" -m pip download --quiet --disable-pip-version-check --dest "$folder"
      --python-version "$python_version" --implementation cp
      --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64)
    "${download[@]}" --no-deps --require-hashes -r "$target" >/dev/null ||
      { rm -f "$target"; die "downloading the wheels of ${requirements#"$root"/} failed"; }
    # The build backends that install local projects, with their dependencies (wheels only, as
    # pip requires for another platform).
    "${download[@]}" --only-binary=:all: hatchling setuptools wheel >/dev/null ||
      die "downloading the build backends failed"
    touch "$folder/.complete"
  fi
  rm -f "$target"
  # Hard links where the cache and the context share a filesystem.
  mkdir -p "$dest"
  local files=(-maxdepth 1 -type f \( -name '*.whl' -o -name '*.tar.gz' \))
  find "$folder" "${files[@]}" -exec cp -l -t "$dest" {} + 2>/dev/null ||
    find "$folder" "${files[@]}" -exec cp -f -t "$dest" {} +
}

# stage_context IMAGE: a build context holding exactly what the image's Dockerfile copies.
stage_context() {
  local name=$1 ctx=$cache/context/$1
  rm -rf "$ctx" && mkdir -p "$ctx"
  case $name in
    api | listener)
      # The repository's layout (the Dockerfile's context is the root): the service and the
      # workspace package it depends on.
      mkdir -p "$ctx/services"
      cp -r "$root/services/$name" "$root/services/contract" "$ctx/services/"
      find "$ctx/services" -name __pycache__ -prune -exec rm -rf {} +
      stage_wheels "$root/services/$name/requirements.txt" "$ctx/wheels"
      ;;
    postgres | redis) cp -r "$root/images/$name/." "$ctx/" ;;
    sample-agent)
      cp "$root/examples/sample-agent"/{Dockerfile,requirements.txt,graph.py,langgraph.json} "$ctx/"
      stage_wheels "$root/examples/sample-agent/requirements.txt" "$ctx/wheels"
      ;;
    crashing-agent) cp "$root/tests/images/crashing-agent/Dockerfile" "$ctx/" ;;
  esac
  echo "$ctx"
}

dockerfile_of() {
  case $1 in
    api | listener) echo "$root/services/$1/Dockerfile" ;;
    postgres | redis) echo "$root/images/$1/Dockerfile" ;;
    sample-agent) echo "$root/examples/sample-agent/Dockerfile" ;;
    crashing-agent) echo "$root/tests/images/crashing-agent/Dockerfile" ;;
  esac
}

base_of() {
  case $1 in
    postgres | redis) echo "$1" ;;
    *) echo python ;;
  esac
}

build() {
  local name=$1 ctx start ref revision dockerfile
  dockerfile=$(dockerfile_of "$name")
  [[ -f $dockerfile ]] || die "${dockerfile#"$root"/} is missing"
  start=$SECONDS
  ensure_base_image "$(base_of "$name")"
  [[ $(base_of "$name") == python ]] || ensure_base_image python  # stage_wheels reads its Python
  ctx=$(stage_context "$name")
  revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
  local common=("${PODMAN[@]}" build --network=none "${ULIMITS[@]}" --quiet --file "$ctx/Dockerfile"
    --build-arg BASE_IMAGE="$(base_image "$(base_of "$name")")" --build-arg REVISION="$revision")
  if [[ $name == api || $name == listener ]]; then
    cp "$dockerfile" "$ctx/Dockerfile"
  fi
  while read -r ref; do
    local args=(--build-arg VERSION="${ref##*:}")
    # The sample agent's revisions differ in what they answer with (SAMPLE_AGENT_REVISION).
    [[ $name == sample-agent ]] && args+=(--build-arg SAMPLE_AGENT_REVISION="${ref##*:}")
    "${common[@]}" "${args[@]}" --tag "$ref" "$ctx" >/dev/null
    echo "images: built $ref in $((SECONDS - start))s," \
      "$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$ref" | numfmt --to=iec)"
  done < <(refs "$name")
}

# The archive of one reference: dist/images/<name>-<tag>.oci.tar.
archive_of() {
  local ref=${1#localhost/}
  echo "$root/dist/images/${ref%%:*}-${ref##*:}.oci.tar"
}

save() {
  local ref out
  mkdir -p "$root/dist/images"
  while read -r ref; do
    out=$(archive_of "$ref")
    rm -f "$out"
    "${PODMAN[@]}" save --quiet --format oci-archive -o "$out" "$ref"
    echo "images: wrote $out ($(du -h "$out" | cut -f1))"
  done < <(for arg in "$@"; do if [[ $arg == *:* ]]; then echo "$arg"; else refs "$arg"; fi; done)
}

command=${1:-}
[[ $# -gt 0 ]] && shift
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${ALL_IMAGES[@]}")
case $command in
  base)
    ensure_packages
    mkdir -p "$cache"
    for kind in python postgres redis; do ensure_base_image "$kind"; done
    ;;
  build)
    ensure_packages
    mkdir -p "$cache"
    for name in "${names[@]}"; do refs "$name" >/dev/null; done  # an unknown name fails first
    for name in "${names[@]}"; do build "$name"; done
    ;;
  save) save "${names[@]}" ;;
  refs) for name in "${names[@]}"; do refs "$name"; done ;;
  archive) [[ $# -eq 1 ]] || die "usage: $0 archive REF"; archive_of "$1" ;;
  can-run)
    "${PODMAN[@]}" run --rm --network=none "${ULIMITS[@]}" "$(base_image python)" true >/dev/null 2>&1
    ;;
  *) die "usage: $0 base | build [IMAGE...] | save [IMAGE|REF...] | refs [IMAGE...] | archive REF | can-run" ;;
esac
