#!/usr/bin/env bash
# The local Kubernetes clusters (README, "The local cluster"). LGCP_CLUSTER picks one:
#   real (default)  a real single node that runs containers: scripts/cluster/real.sh
#   kwok            real etcd, kube-apiserver, controller-manager and scheduler run as local
#                   processes by kwokctl's binary runtime, with kwok simulating the nodes and
#                   their pods (benchmarks at hundreds of agents; the api/listener/chart suites)
# Both can run at the same time.
#
# usage: scripts/cluster.sh up|down|status|env        (real also: load-image ARCHIVE..., stats)
#   up      starts the cluster (harmless when it already runs) and prints the kubeconfig path
#   down    stops it and removes its state; no process is left behind
#   status  exits 0 when the cluster answers
#   env     prints KUBECONFIG=... (and, for the real node, the ingress URL and class names)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${LGCP_CLUSTER:-real} in
  real) exec bash "$root/scripts/cluster/real.sh" "$@" ;;
  kwok) ;;
  *) echo "cluster: LGCP_CLUSTER must be 'real' or 'kwok', not '$LGCP_CLUSTER'" >&2; exit 2 ;;
esac

# --- the kwok cluster ---------------------------------------------------------------------
name=${LGCP_CLUSTER_NAME:-lgcp}
state=${LGCP_CLUSTER_STATE:-$root/.cache/local-cluster}
kubeconfig=$state/kubeconfig
nodes=${LGCP_CLUSTER_NODES:-2}
bin=$root/.tools/bin
export KWOK_WORKDIR=$state/kwok PATH=$bin:$PATH

die() { echo "cluster: $*" >&2; exit 1; }

# The cluster answers and its simulated nodes are Ready (so kwok's controller is alive too).
answers() {
  [[ -f $kubeconfig ]] || return 1
  kubectl --kubeconfig "$kubeconfig" --request-timeout=3s get --raw /readyz >/dev/null 2>&1 || return 1
  [[ $(kubectl --kubeconfig "$kubeconfig" --request-timeout=3s get nodes --no-headers 2>/dev/null | grep -cw Ready) -ge 1 ]]
}

write_config() {
  local stages=$root/.tools/kwok-stages
  [[ -d $stages ]] || die "kwok's stage files are missing from .tools: run 'make tools'"
  {
    cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeBinaryPrefix: $bin
  kubectlBinary: $bin/kubectl
  etcdBinary: $bin/etcd
  kwokControllerBinary: $bin/kwok
  kubeAuthorization: true
  kubeAdmission: true
  quietPull: true
componentsPatches:
  # kube-apiserver's default Service range (a /24) fills at ~250 Services: room for benchmarks.
  - name: kube-apiserver
    extraArgs:
      - key: service-cluster-ip-range
        value: 10.0.0.0/16
EOF
    # kwokctl takes Stages from its configuration, not StorageClasses (applied after start).
    for f in "$stages"/*.yaml "$root/scripts/cluster/stages.yaml"; do
      [[ $(basename "$f") == storage-class.yaml ]] && continue
      echo "---"
      cat "$f"
    done
  } >"$state/kwokctl.yaml"
}

wait_nodes_ready() {
  local deadline=$((SECONDS + 120))
  until kubectl --kubeconfig "$kubeconfig" wait --for=condition=Ready node --all --timeout=5s >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "simulated nodes did not become Ready within 120s"
    sleep 1
  done
}

up() {
  if answers; then
    echo "cluster: '$name' is already running"
    echo "$kubeconfig"
    return
  fi
  for b in kwokctl kwok etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x $bin/$b ]] || die "$b is missing from .tools/bin: run 'make tools' first"
  done
  # A cluster left half-started (killed machine, crashed run) is cleared first.
  kwokctl delete cluster --name "$name" --kubeconfig "$state/kwokctl-kubeconfig" >/dev/null 2>&1 || true
  mkdir -p "$state"
  write_config
  local start=$SECONDS
  kwokctl create cluster --name "$name" --config "$state/kwokctl.yaml" --kubeconfig "$state/kwokctl-kubeconfig" --wait 2m --quiet-pull >"$state/create.log" 2>&1 ||
    { cat "$state/create.log" >&2; die "kwokctl could not create the cluster (log: $state/create.log)"; }
  kwokctl get kubeconfig --name "$name" >"$kubeconfig"
  chmod 600 "$kubeconfig"
  # Simulated nodes (and so their pods) get loopback addresses: nothing may dial anywhere else.
  # 1000 pods a node (a real node's 110 would cap benchmarks at 220 agents).
  kwokctl scale node --name "$name" --replicas "$nodes" \
    --param '.nodeIPs=["127.0.0.1"]' --param '.podCIDRs=["127.64.0.0/24"]' \
    --param '.allocatable.pods=1000' >/dev/null 2>>"$state/create.log"
  kubectl --kubeconfig "$kubeconfig" apply --server-side -f "$root/.tools/kwok-stages/storage-class.yaml" >/dev/null
  wait_nodes_ready
  echo "cluster: '$name' up with $nodes simulated nodes in $((SECONDS - start))s; kubeconfig:" >&2
  echo "$kubeconfig"
}

down() {
  if [[ -d $KWOK_WORKDIR/clusters/$name ]]; then
    kwokctl delete cluster --name "$name" --kubeconfig "$state/kwokctl-kubeconfig" >/dev/null 2>&1 || true
  fi
  # Belt and braces: nothing started from this cluster's folder may outlive it.
  pkill -f -- "$KWOK_WORKDIR/" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while pgrep -f -- "$KWOK_WORKDIR/" >/dev/null; do
    ((SECONDS < deadline)) || { pkill -9 -f -- "$KWOK_WORKDIR/" || true; break; }
    sleep 0.5
  done
  rm -rf "$state"
  echo "cluster: '$name' stopped" >&2
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) answers ;;
  env) echo "KUBECONFIG=$kubeconfig" ;;
  load-image) die "the kwok cluster runs no containers, so it takes no images (LGCP_CLUSTER=real does)" ;;
  *) die "usage: LGCP_CLUSTER=kwok $0 up|down|status|env" ;;
esac
