#!/usr/bin/env bash
# Builds the pinned Go tools (tools/versions.env) from the Go module proxy into a cache outside
# the checkout, keyed by tool and version, and links them into .tools/bin. A tool already in the
# cache is only linked, so a warm run takes seconds.
#
# usage: scripts/tools.sh [TOOL...]   (default: all; TOOL is one of the names in ALL_TOOLS)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools/versions.env
source "$root/tools/versions.env"

cache=${LGCP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lgcp-tools}
bin=$root/.tools/bin
plugins=$root/.tools/helm-plugins
realnode_src=$root/scripts/cluster/real
# The real node's pieces come last: the kwok cluster and the chart tools need none of them.
ALL_TOOLS=(helm3 kwok etcd kube helm4 ct helm-unittest helm-docs kube-node containerd coredns traefik gateway-api kube-router realnode)

export CGO_ENABLED=0 GOFLAGS=-trimpath
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

die() { echo "tools: $*" >&2; exit 1; }
building=""
trap 'rc=$?; [[ $rc -eq 0 || -z $building ]] || echo "tools: building $building failed (exit $rc); see the go output above" >&2' EXIT

check_go() {
  command -v go >/dev/null ||
    die "Go is not installed. Install Go 1.25 or newer (https://go.dev/doc/install, or apt-get install golang-go on a recent Debian) and run 'make tools' again."
  if ! go mod download -json "helm.sh/helm/v3@$HELM3_VERSION" >/dev/null 2>&1; then
    die "cannot fetch modules from the Go module proxy (GOPROXY=$(go env GOPROXY)). Check network access to the proxy, or set GOPROXY to a reachable mirror."
  fi
}

# module_dir MODULE@VERSION: the read-only folder of a downloaded module.
module_dir() {
  go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

# writable_copy MODULE@VERSION DIR: a writable copy of a downloaded module in DIR.
writable_copy() {
  local src
  src=$(module_dir "$1")
  rm -rf "$2" && mkdir -p "$2"
  cp -r "$src/." "$2" && chmod -R u+w "$2"
}

# build_in_module_copy MODULE@VERSION PACKAGE OUTPUT LDFLAGS: go build inside a writable copy.
build_in_module_copy() {
  local work
  work=$(mktemp -d)
  writable_copy "$1" "$work"
  (cd "$work" && go build -ldflags "-s -w $4" -o "$3" "$2")
  rm -rf "$work"
}

# A throwaway Go module, for tools whose own go.mod carries replace directives.
wrapper_module() {
  local dir=$1
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init lgcp.local/toolbuild >/dev/null 2>&1
}

build_helm3() {
  local out=$1 p=helm.sh/helm/v3
  GOBIN=$out go install -ldflags "-s -w -X $p/internal/version.version=$HELM3_VERSION \
    -X $p/pkg/chartutil.k8sVersionMajor=$KUBE_DEFAULT_MAJOR -X $p/pkg/chartutil.k8sVersionMinor=$KUBE_DEFAULT_MINOR \
    -X $p/pkg/lint/rules.k8sVersionMajor=$KUBE_DEFAULT_MAJOR -X $p/pkg/lint/rules.k8sVersionMinor=$KUBE_DEFAULT_MINOR" \
    "$p/cmd/helm@$HELM3_VERSION"
}

build_helm4() {
  # Helm 4 derives its default Kubernetes version from the client-go it is built with.
  GOBIN=$1 go install -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM4_VERSION"
}

build_helm-unittest() {
  # Its go.mod has a replace directive, so it is built inside a copy of the module.
  local out=$1
  build_in_module_copy "github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION" ./cmd/helm-unittest "$out/untt" \
    "-X github.com/helm-unittest/helm-unittest/internal/build.version=${HELM_UNITTEST_VERSION#v}"
  cat >"$out/plugin.yaml" <<PLUGIN
name: unittest
version: ${HELM_UNITTEST_VERSION#v}
usage: unittest for helm charts
description: Unit test for helm chart in YAML with ease to keep your chart functional and robust.
ignoreFlags: false
command: "\$HELM_PLUGIN_DIR/untt"
PLUGIN
}

build_ct() {
  # `go install ct@version` fails: the proxy refuses the module's version list, which go install
  # reads for deprecations. Building inside a copy of the module needs only that version.
  local out=$1 m=github.com/helm/chart-testing/v3
  build_in_module_copy "$m@$CT_VERSION" ./ct "$out/ct" "-X $m/ct/cmd.Version=$CT_VERSION"
  mkdir -p "$out/etc" && cp "$(module_dir "$m@$CT_VERSION")"/etc/{chart_schema.yaml,lintconf.yaml} "$out/etc/"
  chmod u+w "$out/etc"/*
}

build_helm-docs() {
  GOBIN=$1 go install -ldflags "-s -w" "github.com/norwoodj/helm-docs/cmd/helm-docs@$HELM_DOCS_VERSION"
}

build_etcd() {
  local out=$1
  (wrapper_module "$out/.src" &&
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 &&
    go build -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$out/.src"
}

build_kwok() {
  local out=$1 src m=sigs.k8s.io/kwok
  GOBIN=$out go install -ldflags "-s -w -X $m/pkg/consts.Version=${KWOK_VERSION#v} -X $m/pkg/consts.KubeVersion=${KUBE_VERSION#v}" \
    "$m/cmd/kwok@$KWOK_VERSION" "$m/cmd/kwokctl@$KWOK_VERSION"
  # kwok's own stage definitions (node heartbeat, pod lifecycle, volume binding), kept beside the
  # binaries so that scripts/cluster.sh can combine them with the project's stages.
  src=$(module_dir "$m@$KWOK_VERSION")/kustomize/stage
  mkdir -p "$out/stages"
  cp "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    "$src"/pod/fast/pod-{ready,complete,delete}.yaml "$src"/volume/fast/{storage-class,pv-bind,pv-delete,pvc-provision,pvc-delete}.yaml \
    "$out/stages/"
  chmod u+w "$out/stages"/*
}

# kube_commands OUT COMMAND...: builds k8s.io/kubernetes/cmd/COMMAND (at KUBE_VERSION) into OUT.
kube_commands() {
  # k8s.io/kubernetes replaces each staging module with a local path; a wrapper module points
  # those replaces at the published staging modules of the same release instead.
  local out=$1 gomod staging v=$KUBE_VERSION
  shift
  staging="v0.${v#v1.}"
  gomod=$(go mod download -json "k8s.io/kubernetes@$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  (
    wrapper_module "$out/.src"
    {
      echo "require k8s.io/kubernetes $v"
      sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/.*#replace \1 => \1 '"$staging"'#p' "$gomod"
    } >>go.mod
    local cmds=("${@/#/k8s.io/kubernetes/cmd/}")
    # Each package pinned: a bare `go get PKG` would upgrade k8s.io/kubernetes to the newest release.
    go get "${cmds[@]/%/@$v}" 2>&1 | { grep -v '^go: \(downloading\|upgraded\|added\)' || true; }
    local ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$(echo "$v" | cut -d. -f2) -X $p.gitTreeState=clean"
    done
    go build -ldflags "$ld" -o "$out/" "${cmds[@]}"
  )
  rm -rf "$out/.src"
}

build_kube() {
  kube_commands "$1" kube-apiserver kube-controller-manager kube-scheduler kubectl
}

# The real node's kubelet and kube-proxy: the same release and wrapper module as build_kube, a
# cache entry of their own so that the kwok cluster's tools stay cached when they are added.
build_kube-node() {
  kube_commands "$1" kubelet kube-proxy
}

build_containerd() {
  # The snapshotters left out need cgo or kernel headers; the real node uses overlayfs.
  local m=github.com/containerd/containerd/v2
  GOBIN=$1 go install -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X $m/version.Version=$CONTAINERD_VERSION -X $m/version.Revision=module-proxy" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "$m/cmd/ctr@$CONTAINERD_VERSION"
}

build_coredns() {
  local m=github.com/coredns/coredns
  GOBIN=$1 go install -ldflags "-s -w -X $m/coremain.GitCommit=$COREDNS_VERSION" "$m@$COREDNS_VERSION"
}

# Traefik's module does not build as published; three repairs in a writable copy (the module is
# unchanged otherwise):
#  - go.mod replaces github.com/traefik/traefik/dynamic/ext with a nested module that module zips
#    leave out: recreated as a package with the two empty structs it must provide;
#  - the proxy refuses the go-http-auth fork version it pins: TRAEFIK_HTTP_AUTH_FORK instead;
#  - the proxy refuses the SDKs of some of lego's DNS providers (ACME DNS-01, which a local
#    ingress never uses): a local copy of lego whose generated provider switch leaves them out.
# The dashboard (webui/static) is a placeholder in the zip; routing does not need it.
build_traefik() {
  local out=$1 work lego refused m=github.com/traefik/traefik/v3
  work=$(mktemp -d)
  writable_copy "$m@$TRAEFIK_VERSION" "$work/traefik"
  (
    trap 'rm -rf "$work"' EXIT
    cd "$work/traefik"
    mkdir -p pkg/config/dynamic/ext
    printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24\n' >pkg/config/dynamic/ext/go.mod
    printf 'package ext\n\n// HTTP extends the dynamic HTTP configuration (empty here).\ntype HTTP struct{}\n\n// Router extends a router (empty here).\ntype Router struct{}\n' \
      >pkg/config/dynamic/ext/ext.go
    go mod edit -replace "github.com/abbot/go-http-auth=$TRAEFIK_HTTP_AUTH_FORK"
    lego=$(go mod edit -json | python3 -c 'import json,sys; print(next(r["Path"] + "@" + r["Version"] for r in json.load(sys.stdin)["Require"] if r["Path"].startswith("github.com/go-acme/lego/v") and not r.get("Indirect")))')
    writable_copy "$lego" "$work/lego"
    go mod edit -replace "${lego%@*}=$work/lego"
    # Which providers the proxy refuses, read from go's own complaint.
    refused=$({ go list -mod=mod -deps ./cmd/traefik 2>&1 >/dev/null || true; } |
      sed -n 's#.*/providers/dns/\([a-z0-9]*\)/[^ ]*\.go:.*403 Forbidden.*#\1#p' | sort -u | paste -sd'|')
    if [[ -n $refused ]]; then
      echo "tools: traefik: leaving out lego DNS providers the module proxy does not serve: ${refused//|/ }"
      awk -v ex="$refused" '
        $0 ~ "/providers/dns/(" ex ")\"$" { next }
        /^\tcase / { held = $0; next }
        held != "" { if ($0 !~ "^\t\treturn (" ex ")\\.") print held; else { held = ""; next } held = "" }
        { print }' "$work/lego/providers/dns/zz_gen_dns_providers.go" >"$work/providers.go"
      mv "$work/providers.go" "$work/lego/providers/dns/zz_gen_dns_providers.go"
      rm -f "$work/lego/providers/dns/dns_providers_test.go"
      for p in ${refused//|/ }; do rm -rf "$work/lego/providers/dns/$p"; done
    fi
    go build -mod=mod -ldflags "-s -w -X $m/pkg/version.Version=$TRAEFIK_VERSION" -o "$out/traefik" ./cmd/traefik
  )
}

build_kube-router() {
  local m=github.com/cloudnativelabs/kube-router/v2
  GOBIN=$1 go install -ldflags "-s -w -X $m/pkg/version.Version=$KUBE_ROUTER_VERSION" "$m/cmd/kube-router@$KUBE_ROUTER_VERSION"
}

build_gateway-api() {
  # The standard channel's CRDs (and the admission policy that guards their upgrades), one file.
  local src
  src=$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")/config/crd/standard
  for f in "$src"/*.yaml; do
    echo "---"
    cat "$f"
  done >"$1/standard-install.yaml"
}

# The real node's own programs (scripts/cluster/real/cmd): pause and probe for its images, and
# the local volume provisioner. Keyed by a hash of their sources.
build_realnode() {
  (cd "$realnode_src" && go build -ldflags "-s -w" -o "$1/" ./cmd/pause ./cmd/probe ./cmd/local-volumes)
}

realnode_version() {
  (cd "$realnode_src" && cat go.mod go.sum $(find cmd -name '*.go' | sort) | sha256sum | cut -c1-12)
}

version_of() {
  case $1 in
    helm3) echo "$HELM3_VERSION" ;; helm4) echo "$HELM4_VERSION" ;;
    helm-unittest) echo "$HELM_UNITTEST_VERSION" ;; ct) echo "$CT_VERSION" ;; helm-docs) echo "$HELM_DOCS_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;; kube | kube-node) echo "$KUBE_VERSION" ;; kwok) echo "$KWOK_VERSION" ;;
    containerd) echo "$CONTAINERD_VERSION" ;; coredns) echo "$COREDNS_VERSION" ;; traefik) echo "$TRAEFIK_VERSION" ;;
    gateway-api) echo "$GATEWAY_API_VERSION" ;; realnode) echo "src-$(realnode_version)" ;;
    kube-router) echo "$KUBE_ROUTER_VERSION" ;;
    *) die "unknown tool '$1' (known: ${ALL_TOOLS[*]})" ;;
  esac
}

outputs_of() {
  case $1 in
    helm3 | helm4) echo helm ;; helm-unittest) echo "untt plugin.yaml" ;; ct) echo "ct etc/lintconf.yaml" ;; helm-docs) echo helm-docs ;;
    etcd) echo etcd ;; kube) echo "kube-apiserver kube-controller-manager kube-scheduler kubectl" ;;
    kwok) echo "kwok kwokctl stages/pod-ready.yaml" ;;
    kube-node) echo "kubelet kube-proxy" ;; containerd) echo "containerd containerd-shim-runc-v2 ctr" ;;
    coredns) echo coredns ;; traefik) echo traefik ;; gateway-api) echo standard-install.yaml ;; kube-router) echo kube-router ;;
    realnode) echo "pause probe local-volumes" ;;
  esac
}

# ensure TOOL: build TOOL into the cache unless it is there already.
ensure() {
  local tool=$1 version dir start
  version=$(version_of "$tool")
  dir=$cache/$tool-$version
  if [[ -f $dir/.complete ]]; then
    echo "tools: $tool $version cached"
    return
  fi
  # Two runs at once (two engineers, or make and a test) build each tool once: the second waits.
  mkdir -p "$cache"
  exec {lock}>"$dir.lock"
  flock "$lock"
  if [[ -f $dir/.complete ]]; then
    echo "tools: $tool $version built by another run meanwhile"
    exec {lock}>&-
    return
  fi
  [[ -n ${go_checked:-} ]] || { check_go; go_checked=1; }
  echo "tools: building $tool $version ..."
  start=$SECONDS
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  # Called outside any condition so that `set -e` stops at the first failing step inside.
  building="$tool $version"
  "build_$tool" "$dir.partial"
  building=""
  for f in $(outputs_of "$tool"); do
    [[ -e $dir.partial/$f ]] || die "building $tool $version produced no $f"
  done
  rm -rf "$dir" && mv "$dir.partial" "$dir" && touch "$dir/.complete"
  exec {lock}>&-
  echo "tools: built $tool $version in $((SECONDS - start))s"
}

# link TOOL: put the cached binaries on .tools/bin (helm v3 is the default `helm`).
link() {
  local dir=$cache/$1-$(version_of "$1") f
  mkdir -p "$bin"
  case $1 in
    helm3) ln -sfn "$dir/helm" "$bin/helm" && ln -sfn "$dir/helm" "$bin/helm3" ;;
    helm4) mkdir -p "$root/.tools/helm4" && ln -sfn "$dir/helm" "$root/.tools/helm4/helm" && ln -sfn "$dir/helm" "$bin/helm4" ;;
    helm-unittest) mkdir -p "$plugins" && ln -sfn "$dir" "$plugins/unittest" ;;
    ct) ln -sfn "$dir/ct" "$bin/ct" && ln -sfn "$dir/etc" "$root/.tools/ct-etc" ;;
    etcd) ln -sfn "$dir/etcd" "$bin/etcd" ;;
    helm-docs) ln -sfn "$dir/helm-docs" "$bin/helm-docs" ;;
    kube) for f in kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sfn "$dir/$f" "$bin/$f"; done ;;
    kwok) ln -sfn "$dir/kwok" "$bin/kwok" && ln -sfn "$dir/kwokctl" "$bin/kwokctl" && ln -sfn "$dir/stages" "$root/.tools/kwok-stages" ;;
    kube-node | containerd | coredns | traefik | kube-router)
      for f in $(outputs_of "$1"); do ln -sfn "$dir/$f" "$bin/$f"; done ;;
    gateway-api) mkdir -p "$root/.tools/real-node" && ln -sfn "$dir/standard-install.yaml" "$root/.tools/real-node/gateway-api-crds.yaml" ;;
    realnode)
      # Not on PATH: pause and probe become images, local-volumes runs as the node's provisioner.
      mkdir -p "$root/.tools/real-node"
      for f in $(outputs_of "$1"); do ln -sfn "$dir/$f" "$root/.tools/real-node/$f"; done ;;
  esac
}

# Sourced (e.g. by a test that checks every tool has its functions): define everything, build nothing.
[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${ALL_TOOLS[@]}")
total=$SECONDS
for t in "${tools[@]}"; do
  ensure "$t"
  link "$t"
done
echo "tools: ${#tools[@]} tool(s) ready in .tools/bin after $((SECONDS - total))s (cache: $cache)"
