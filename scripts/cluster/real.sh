#!/usr/bin/env bash
# The real local node: a single-node Kubernetes that runs real containers, started as local
# processes from the binaries scripts/tools.sh builds (docs/architecture.md, "Real local node").
#
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler   the control plane
#   containerd (+ runc from Debian), kubelet, kube-proxy (nftables)  the node
#   CoreDNS (a pod), Traefik (a host process on the bridge address) DNS and ingress
#   local-volumes (a host process)                                  the default StorageClass
#   kube-router's firewall (a host process)                         NetworkPolicies enforced
#
# Pods live on a bridge of their own with 198.18.0.0/24 and Services on 198.19.0.0/24; nothing
# is routed or forwarded off the machine. Everything it writes is under its state folder, except
# what the tools hard-code (see down()), which down removes too.
#
# usage: scripts/cluster/real.sh up|down|status|env|stats [SECONDS]|load-image ARCHIVE...
#   (normally through scripts/cluster.sh, where LGCP_CLUSTER=real is the default)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/scripts/cluster/real
# shellcheck source=real/pki.sh
source "$here/pki.sh"

state=${LGCP_REAL_NODE_STATE:-$root/.cache/real-node}
kubeconfig=$state/kubeconfig
bin=$root/.tools/bin
realbin=$root/.tools/real-node
export PATH=$bin:/usr/sbin:/usr/bin:/sbin:/bin

node=lgcp-node
bridge=lgcp0
pod_cidr=198.18.0.0/24 gateway=198.18.0.1
service_cidr=198.19.0.0/24 api_service_ip=198.19.0.1 dns_ip=198.19.0.10
api_port=${LGCP_REAL_API_PORT:-6443}
etcd_port=${LGCP_REAL_ETCD_PORT:-12379}
ingress_host=${LGCP_INGRESS_HOST:-langsmith.lgcp.test}
ingress_port=${LGCP_INGRESS_PORT:-80}
traefik_ping_port=${LGCP_REAL_TRAEFIK_PING_PORT:-10380}
storage_class=lgcp-local
guard_table=lgcp_guard
hosts_mark="# lgcp-real-node"
pause_image=lgcp.local/pause:1
coredns_image=lgcp.local/coredns:${COREDNS_VERSION:-}
probe_image=lgcp.local/probe:1
# Host ports, all on 127.0.0.1 except the API server, the kubelet and the ingress (on the bridge
# address, where pods and the API server reach them).
declare -A ports=(
  [etcd]=$etcd_port [etcd-peer]=$((etcd_port + 1)) [controller-manager]=10357 [scheduler]=10359
  [kubelet-healthz]=10348 [kube-proxy-healthz]=10356 [kube-proxy-metrics]=10349
  [ingress]=$ingress_port [traefik-ping]=$traefik_ping_port
)
# Kernel settings the node's tools change (kubelet, the CNI bridge plugin); saved at up and put
# back by down.
sysctls=(net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.route_localnet)
# Paths the tools write to whatever they are told: removed by down unless they existed before up.
hardcoded=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /run/netns
  /opt/containerd /var/lib/containerd /etc/cni /var/run/kubernetes /usr/libexec/kubernetes /run/nri)
# Host processes in start order (down stops them in reverse).
components=(etcd kube-apiserver containerd kube-controller-manager kube-scheduler kubelet kube-proxy local-volumes traefik)
# NetworkPolicies enforced by kube-router's firewall controller (LGCP_REAL_NETWORK_POLICIES=0: not).
network_policies=${LGCP_REAL_NETWORK_POLICIES:-1}
[[ $network_policies == 0 ]] || components+=(kube-router)

source "$root/tools/versions.env"
coredns_image=lgcp.local/coredns:$COREDNS_VERSION

say() { echo "real-node: $*" >&2; }
die() { echo "real-node: $*" >&2; exit 1; }
# kubectl's discovery cache goes into the state folder, not ~/.kube/cache.
kc() { kubectl --kubeconfig "$kubeconfig" --cache-dir "$state/kube-cache" --request-timeout=10s "$@"; }

# --- checks -------------------------------------------------------------------------------

require_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root: it creates a network bridge, nftables rules and mounts (try: sudo $0 $*)"
}

require_tools() {
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy \
    containerd containerd-shim-runc-v2 ctr coredns traefik kube-router; do
    [[ -x $bin/$b ]] || die "$b is missing from .tools/bin: run 'make tools' first"
  done
  for b in pause probe local-volumes gateway-api-crds.yaml; do
    [[ -e $realbin/$b ]] || die "$b is missing from .tools/real-node: run 'make tools' first"
  done
}

# runc and the CNI plugins come from Debian; installed when missing.
require_packages() {
  local missing=()
  [[ -x /usr/sbin/runc ]] || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  command -v nft >/dev/null || missing+=(nftables)
  if [[ $network_policies != 0 ]]; then
    # kube-router's firewall programs iptables (the nftables backend) and ipsets.
    command -v iptables-restore >/dev/null || missing+=(iptables)
    command -v ipset >/dev/null || missing+=(ipset)
  fi
  [[ ${#missing[@]} -eq 0 ]] && return
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them: install them with the system's package manager"
  say "installing ${missing[*]} from Debian ..."
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$state.apt.log" 2>&1 ||
    die "could not install ${missing[*]} (log: $state.apt.log)"
  rm -f "$state.apt.log"
}

# Each kernel feature the node needs, checked before anything is changed.
require_kernel() {
  grep -qw overlay /proc/filesystems || die "the kernel has no overlay filesystem (CONFIG_OVERLAY_FS): containerd's overlayfs snapshotter needs it"
  [[ -d /proc/sys/net/bridge ]] || die "the kernel has no bridge netfilter (CONFIG_BRIDGE_NETFILTER, module br_netfilter): Services between pods on one bridge need it"
  local c
  for c in cpu memory pids devices freezer; do
    [[ -d /sys/fs/cgroup/$c || -f /sys/fs/cgroup/cgroup.controllers ]] || die "cgroup controller '$c' is not mounted at /sys/fs/cgroup/$c: the kubelet needs it"
  done
  ip link add lgcp-check0 type veth peer name lgcp-check1 2>/dev/null ||
    die "cannot create a veth pair (CONFIG_VETH): the CNI bridge plugin needs it"
  ip link del lgcp-check0
  printf '%s\n' "table ip lgcp_check {" "  chain c {" "    type nat hook prerouting priority -100; policy accept;" \
    "    ct state new ip daddr 198.51.100.1 counter dnat to 198.51.100.2" "  }" "}" | nft -c -f - 2>/dev/null ||
    die "nftables with NAT and conntrack is not usable (CONFIG_NF_TABLES, CONFIG_NFT_NAT, CONFIG_NFT_CT): kube-proxy needs it"
}

# port_taken ADDRESS PORT: something listens there, or on that port of every address.
port_taken() {
  local listening
  listening=$(ss -Htln "sport = :$2" 2>/dev/null | awk '{print $4}')
  grep -qE "^($1|0\.0\.0\.0|\*|\[::\]):$2\$" <<<"$listening"
}

require_free_ports() {
  local name
  for name in "${!ports[@]}"; do
    [[ $name == ingress ]] && continue
    port_taken 127.0.0.1 "${ports[$name]}" || continue
    case $name in
      etcd | etcd-peer) die "port ${ports[$name]} on 127.0.0.1 ($name) is in use: free it or move etcd with LGCP_REAL_ETCD_PORT (it uses that port and the next)" ;;
      traefik-ping) die "port ${ports[$name]} on 127.0.0.1 (Traefik's ping) is in use: free it or set LGCP_REAL_TRAEFIK_PING_PORT" ;;
      *) die "port ${ports[$name]} on 127.0.0.1 ($name) is in use: free it (the node's fixed ports are listed in docs/architecture.md)" ;;
    esac
  done
  ! port_taken "$gateway" "$ingress_port" || die "port $ingress_port (the ingress) is in use on every address: free it or choose another, e.g. LGCP_INGRESS_PORT=8080"
  ! port_taken "$gateway" "$api_port" || die "port $api_port (the API server) is in use on every address: free it or set LGCP_REAL_API_PORT"
  ! port_taken "$gateway" 10250 || die "port 10250 (the kubelet) is in use on every address: free it"
  if [[ $(ip -o addr show) == *" $gateway/"* ]]; then
    die "address $gateway is already assigned on this machine (a real node left over? run 'scripts/cluster.sh down')"
  fi
}

# other_node: the state folder of a real node that runs from another checkout (or state folder),
# if any: only one node fits on a machine (its bridge, addresses and ports are fixed).
other_node() {
  local pid cmdline
  pid=$(ss -Htlnp "sport = :$api_port" 2>/dev/null | grep -F "$gateway:$api_port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1)
  [[ -n $pid ]] || return 1
  { cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline"); } 2>/dev/null || return 1
  [[ $cmdline == *"$state/"* ]] && return 1
  sed -n 's#.*--cert-dir \([^ ]*\)/pki .*#\1#p' <<<"$cmdline"
  return 0
}

# --- machine changes (each undone by down) -------------------------------------------------

save_machine() {
  local s p
  mkdir -p "$state/saved"
  [[ -f $state/saved/sysctl ]] || for s in "${sysctls[@]}"; do
    [[ -e /proc/sys/${s//.//} ]] && echo "$s=$(sysctl -n "$s")"
  done >"$state/saved/sysctl"
  [[ -f $state/saved/preexisting ]] || for p in "${hardcoded[@]}"; do
    [[ -e $p ]] && echo "$p"
  done >"$state/saved/preexisting"
  # iptables-nft makes a table on first use (kube-router's firewall, kube-proxy's cleanup): down
  # deletes such a table again when it was not there before and is empty.
  [[ -f $state/saved/nft-tables ]] || nft list tables >"$state/saved/nft-tables" 2>/dev/null || true
  [[ -f $state/saved/cgroups ]] || ls -d /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods 2>/dev/null >"$state/saved/cgroups" || true
}

network_up() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$gateway/24" dev "$bridge"
  fi
  ip link set "$bridge" up
  # Service addresses never take the default route, matched by kube-proxy or not.
  ip route replace "$service_cidr" dev "$bridge" src "$gateway"
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # The guard: pods talk to pods, to the API server's port, and to nothing else; nothing outside
  # reaches the bridge's addresses. Replaced whole, so a second up leaves one copy.
  nft -f - <<EOF
table inet $guard_table
delete table inet $guard_table
table inet $guard_table {
  set node_ranges { type ipv4_addr; flags interval; elements = { $pod_cidr, $service_cidr } }
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    iifname "$bridge" oifname != "$bridge" counter drop comment "pods reach nothing off the bridge"
    oifname "$bridge" iifname != "$bridge" counter drop comment "nothing off the machine reaches pods"
  }
  chain input {
    type filter hook input priority filter - 10; policy accept;
    iifname "$bridge" ct state established,related accept
    iifname "$bridge" tcp dport $api_port accept comment "pods reach the API server"
    iifname "$bridge" ip daddr $gateway tcp dport $ingress_port accept comment "pods reach the ingress (the LangSmith host)"
    iifname "$bridge" meta l4proto icmp accept
    iifname "$bridge" counter drop comment "pods reach no other host service"
    iifname != { "lo", "$bridge" } ip daddr @node_ranges counter drop comment "the node's addresses are not reachable from outside"
  }
  chain output {
    type filter hook output priority filter - 10; policy accept;
    oifname != { "lo", "$bridge" } ip daddr @node_ranges counter drop comment "node traffic never leaves by another interface"
  }
}
EOF
}

# The ingress listens on the bridge address, which is the machine's own: host processes reach
# it there as pods do (through CoreDNS's record of the same name).
hosts_line() { echo "$gateway $ingress_host  $hosts_mark"; }

hosts_add() {
  grep -qxF "$(hosts_line)" /etc/hosts && return
  hosts_remove # a marked line of an earlier version (127.0.0.1)
  # A file without a final newline would glue the line onto its last one.
  [[ ! -s /etc/hosts || $(tail -c1 /etc/hosts | od -An -c | tr -d ' ') == '\n' ]] || echo >>/etc/hosts
  echo "$(hosts_line)" >>/etc/hosts
}

# Removes exactly the marked lines; /etc/hosts is rewritten in place (it may be a bind mount).
hosts_remove() {
  grep -q "$hosts_mark\$" /etc/hosts 2>/dev/null || return 0
  local kept
  kept=$(grep -v "  $hosts_mark\$" /etc/hosts || true)
  printf '%s\n' "$kept" >/etc/hosts
}

# --- configuration ------------------------------------------------------------------------

render() { # render FILE: a manifest with its @PLACEHOLDERS@ filled in
  sed -e "s#@COREDNS_IMAGE@#$coredns_image#g" -e "s#@DNS_IP@#$dns_ip#g" \
    -e "s#@STORAGE_CLASS@#$storage_class#g" -e "s#@INGRESS_PORT@#$ingress_port#g" \
    -e "s#@INGRESS_HOST@#$ingress_host#g" -e "s#@GATEWAY@#$gateway#g" "$1"
}

# put FILE: writes stdin to FILE only when that changes it. kube-proxy exits when its
# configuration file is written, even with the same content, and a repairing up rewrites all.
put() {
  local tmp=$1.new
  (umask 077 && cat >"$tmp")
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

write_config() {
  mkdir -p "$state"/{logs,pids,etcd,containerd/certs.d/_default,cni/net.d,cni/networks,kubelet,volumes,traefik}
  chmod 700 "$state"/{logs,pids,etcd,containerd,cni,kubelet,volumes}
  local server=https://$gateway:$api_port c shim_dir=$state/s
  # Shim sockets are named by a 64-character hash; a unix socket path has room for 107 bytes.
  ((${#shim_dir} + 65 < 108)) || shim_dir=/run/containerd/s
  [[ -f $state/pki/ca.crt ]] || pki_all "$state/pki" "$node" "$gateway" "$api_service_ip"
  for c in admin controller-manager scheduler kubelet kube-proxy traefik local-volumes kube-router; do
    [[ -f $state/pki/$c.kubeconfig ]] || pki_kubeconfig "$state/pki" "$c" "$server" "$state/pki/$c.kubeconfig"
  done
  put "$kubeconfig" <"$state/pki/admin.kubeconfig"

  put "$state/containerd/config.toml" <<EOF
# containerd for the real node: every path in the state folder; see docs/architecture.md.
version = 4
root = "$state/containerd/root"
state = "$state/containerd/state"
temp = "$state/containerd/tmp"
imports = []
disabled_plugins = ["io.containerd.nri.v1.nri"]

[plugins.'io.containerd.server.v1.grpc']
  address = "$state/containerd/containerd.sock"
[plugins.'io.containerd.server.v1.ttrpc']
  address = "$state/containerd/containerd.sock.ttrpc"
[plugins.'io.containerd.server.v1.debug']
  address = ""
[plugins.'io.containerd.server.v1.metrics']
  address = ""
[plugins.'io.containerd.shim.v1.manager']
  socket_dir = "$shim_dir"
[plugins.'io.containerd.internal.v1.opt']
  path = "$state/containerd/opt"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$pause_image"
  [plugins.'io.containerd.cri.v1.images'.registry]
    # Every registry host resolves to a closed port on 127.0.0.1 (certs.d/_default): an image
    # that was not imported fails to pull at once, and no pull ever leaves the machine.
    config_path = "$state/containerd/certs.d"
[plugins.'io.containerd.cri.v1.runtime']
  disable_apparmor = true
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc create.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "$state/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$state/cni/net.d"
    max_conf_num = 1
EOF
  put "$state/containerd/certs.d/_default/hosts.toml" <<'EOF'
server = "http://127.0.0.1:9"
EOF

  put "$state/cni/net.d/10-lgcp.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "lgcp",
  "plugins": [{
    "type": "bridge",
    "bridge": "$bridge",
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "dataDir": "$state/cni/networks",
      "ranges": [[{"subnet": "$pod_cidr", "gateway": "$gateway"}]],
      "routes": [{"dst": "$service_cidr"}]
    }
  }]
}
EOF

  echo "nameserver $dns_ip" | put "$state/kubelet/resolv.conf"
  put "$state/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $gateway
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${ports[kubelet-healthz]}
tlsCertFile: $state/pki/kubelet-serving.crt
tlsPrivateKeyFile: $state/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $state/pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$state/containerd/containerd.sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$dns_ip]
clusterDomain: cluster.local
resolvConf: $state/kubelet/resolv.conf
podCIDR: $pod_cidr
podLogsDir: $state/logs/pods
volumePluginDir: $state/kubelet/volume-plugins
makeIPTablesUtilChains: false
serializeImagePulls: false
# Imported images cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A small disk shared with other work: evict only when it is really full.
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, nodefs.inodesFree: 2%, imagefs.available: 2%}
shutdownGracePeriod: 0s
rotateCertificates: false
EOF

  put "$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: $state/pki/kube-proxy.kubeconfig}
hostnameOverride: $node
clusterCIDR: $pod_cidr
healthzBindAddress: 127.0.0.1:${ports[kube-proxy-healthz]}
metricsBindAddress: 127.0.0.1:${ports[kube-proxy-metrics]}
nodePortAddresses: [$gateway/32]
# 0: leave the machine's conntrack settings as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF

  put "$state/traefik/traefik.yaml" <<EOF
# Traefik as a host process: the web entry point on the bridge address (the host and pods reach
# it; nothing off the machine does), routes from the cluster's Ingresses (class traefik) and
# Gateway API HTTPRoutes (GatewayClass traefik).
global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  web: {address: "$gateway:$ingress_port"}
  ping: {address: "127.0.0.1:$traefik_ping_port"}
ping: {entryPoint: ping}
log: {level: INFO, noColor: true}
providers:
  kubernetesIngress:
    ingressEndpoint: {ip: $gateway}
  kubernetesGateway:
    statusAddress: {ip: $gateway}
EOF
}

# --- processes ----------------------------------------------------------------------------

# start NAME COMMAND...: a host process in a session of its own (so that a Ctrl-C or a test
# runner's process group does not reach it), logging into the state folder.
start() {
  local name=$1
  shift
  if alive "$name"; then return; fi
  # fd 9 is the up/down lock: a component that kept it would hold the lock for its lifetime.
  setsid "$@" >>"$state/logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$state/pids/$name"
}

# ours PID: the process exists and was started from this state folder.
ours() {
  local cmdline
  { cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline"); } 2>/dev/null && [[ $cmdline == *"$state/"* ]]
}

alive() {
  local pid
  pid=$(cat "$state/pids/$1" 2>/dev/null) || return 1
  ours "$pid"
}

# wait_until SECONDS WHAT COMPONENT COMMAND...: polls COMMAND; on timeout shows COMPONENT's log.
wait_until() {
  local limit=$1 what=$2 component=$3 deadline
  shift 3
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $component ]] && ! alive "$component"; then
      tail -n 25 "$state/logs/$component.log" >&2 || true
      die "$component exited while waiting for $what (log: $state/logs/$component.log)"
    fi
    if ((SECONDS >= deadline)); then
      [[ -z $component ]] || tail -n 25 "$state/logs/$component.log" >&2 || true
      die "$what did not happen within ${limit}s${component:+ (log: $state/logs/$component.log)}"
    fi
    sleep 0.2
  done
}

start_control_plane() {
  local pki=$state/pki
  start etcd "$bin/etcd" --name lgcp-real --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:${ports[etcd-peer]}" --initial-advertise-peer-urls "http://127.0.0.1:${ports[etcd-peer]}" \
    --initial-cluster "lgcp-real=http://127.0.0.1:${ports[etcd-peer]}" \
    --quota-backend-bytes 2147483648 --log-level warn
  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address "$gateway" --advertise-address "$gateway" --secure-port "$api_port" \
    --cert-dir "$pki" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-cluster-ip-range "$service_cidr" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged=true \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --profiling=false --v=1
}

start_controllers() {
  local pki=$state/pki
  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$pki/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$pki/controller-manager.kubeconfig" --authorization-kubeconfig "$pki/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "${ports[controller-manager]}" --cert-dir "$pki/controller-manager-serving" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" --use-service-account-credentials \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$service_cidr" --leader-elect=false --profiling=false --v=1
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig "$pki/scheduler.kubeconfig" \
    --authentication-kubeconfig "$pki/scheduler.kubeconfig" --authorization-kubeconfig "$pki/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "${ports[scheduler]}" --cert-dir "$pki/scheduler-serving" \
    --leader-elect=false --profiling=false --v=1
}

start_node() {
  start kubelet "$bin/kubelet" --config "$state/kubelet/config.yaml" \
    --kubeconfig "$state/pki/kubelet.kubeconfig" --root-dir "$state/kubelet/root" \
    --hostname-override "$node" --node-ip "$gateway" --v=1
  start kube-proxy "$bin/kube-proxy" --config "$state/kube-proxy.yaml" --v=1
  start local-volumes "$realbin/local-volumes" --kubeconfig "$state/pki/local-volumes.kubeconfig" \
    --base-dir "$state/volumes" --node "$node"
  start_network_policies
}

# Traefik runs as nobody, keeping only the capability to bind a port below 1024; its kubeconfig
# and configuration are the only files of the node it can read ($state is 0711: no listing).
# kube-router's firewall controller alone: NetworkPolicies become iptables rules and ipsets
# (its router, service proxy and CNI stay off: the bridge plugin and kube-proxy do those).
start_network_policies() {
  [[ $network_policies != 0 ]] || return 0
  start kube-router "$bin/kube-router" --kubeconfig "$state/pki/kube-router.kubeconfig" \
    --hostname-override "$node" --run-firewall=true --run-router=false --run-service-proxy=false \
    --enable-cni=false --enable-ibgp=false --enable-overlay=false --enable-pod-egress=false \
    --service-cluster-ip-range "$service_cidr" --health-port 0 --metrics-port 0 --v=1
}

# Removes what kube-router's firewall made: its jumps from the built-in chains, its chains and
# its ipsets. (`kube-router --cleanup-config` would also flush every IPVS service and delete
# interfaces of its router, which are not ours to touch.)
network_policies_cleanup() {
  local t chain rule c
  for t in iptables ip6tables; do
    command -v "$t" >/dev/null || continue
    for chain in INPUT FORWARD OUTPUT; do
      while rule=$("$t" -w -t filter -S "$chain" 2>/dev/null | grep -m1 -E -- '-j KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)( |$)'); do
        eval "\"$t\" -w -t filter ${rule/#-A/-D}" || break
      done
    done
    for c in $("$t" -w -t filter -S 2>/dev/null | sed -n 's/^-N \(KUBE-\(ROUTER\|NWPLCY\|POD-FW\)-[^ ]*\)$/\1/p'); do
      "$t" -w -t filter -F "$c" 2>/dev/null || true
    done
    for c in $("$t" -w -t filter -S 2>/dev/null | sed -n 's/^-N \(KUBE-\(ROUTER\|NWPLCY\|POD-FW\)-[^ ]*\)$/\1/p'); do
      "$t" -w -t filter -X "$c" 2>/dev/null || true
    done
  done
  if command -v ipset >/dev/null; then
    for c in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?KUBE-(SRC|DST)-'); do ipset destroy "$c" 2>/dev/null || true; done
  fi
}

start_traefik() {
  install -d -m 700 -o 65534 -g 65534 "$state/traefik"
  install -m 600 -o 65534 -g 65534 "$state/pki/traefik.kubeconfig" "$state/traefik/kubeconfig"
  chown 65534:65534 "$state/traefik/traefik.yaml"
  HOME=$state/traefik KUBECONFIG=$state/traefik/kubeconfig start traefik setpriv --reuid=65534 --regid=65534 --clear-groups \
    --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service \
    "$bin/traefik" --configFile "$state/traefik/traefik.yaml"
}

# --- images -------------------------------------------------------------------------------

# ctr warns on every call that cgroup v1 is deprecated: that line is dropped.
ctr_() {
  ctr --address "$state/containerd/containerd.sock" --namespace k8s.io "$@" 2> >(grep -v 'DEPRECATION: The support for cgroup v1' >&2)
}

# The node's own images, made from the binaries without a container engine. Kept outside the
# state folder, keyed by the binary's digest, so that an up after a down need not make them again.
images_cache=$root/.cache/real-node-images

# node_image NAME REF BINARY USER [PORT...]: prints the archive's path, making it when missing.
node_image() {
  local name=$1 ref=$2 binary=$3 user=$4 digest archive p port_args=()
  shift 4
  for p in "$@"; do port_args+=(--port "$p"); done
  digest=$(sha256sum "$binary" | cut -c1-16)
  archive=$images_cache/$name-$digest.tar
  if [[ ! -s $archive ]]; then
    mkdir -p "$images_cache"
    rm -f "$images_cache/$name"-*.tar
    python3 "$here/oci_image.py" --name "$ref" --out "$archive" --entrypoint "/$name" --user "$user" \
      --file "$binary:/$name" "${port_args[@]}"
  fi
  echo "$archive"
}

node_images() {
  node_image pause "$pause_image" "$realbin/pause" 65535:65535
  node_image coredns "$coredns_image" "$bin/coredns" 65532:65532 53/udp 53/tcp
  node_image probe "$probe_image" "$realbin/probe" 65532:65532 8080/tcp
}

# archive_names ARCHIVE: the image names an OCI archive (index.json) or a docker archive
# (manifest.json) carries, one a line.
archive_names() {
  python3 - "$1" <<'PY'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as tar:
    members = {m.name.lstrip("./"): m for m in tar.getmembers()}
    if "index.json" in members:
        index = json.load(tar.extractfile(members["index.json"]))
        for m in index.get("manifests", []):
            a = m.get("annotations") or {}
            print(a.get("io.containerd.image.name") or a.get("org.opencontainers.image.ref.name") or "")
    elif "manifest.json" in members:
        for m in json.load(tar.extractfile(members["manifest.json"])):
            for tag in m.get("RepoTags") or [""]:
                print(tag)
    else:
        sys.exit("neither index.json (OCI) nor manifest.json (docker) in the archive")
PY
}

# import ARCHIVE...: into containerd's k8s.io namespace (the kubelet's); prints the image names.
import_images() {
  local archive names name out have digest
  for archive in "$@"; do
    [[ -f $archive ]] || die "no such image archive: $archive"
    names=$(archive_names "$archive") || die "$archive is not an image archive"
    while read -r name; do
      # A bare tag ("1") or no name: ctr would invent one that no pod can refer to.
      [[ $name == */* || $name == *:* ]] ||
        die "$archive names an image only as '${name:-<nothing>}': save it with a full name, e.g. podman save --format oci-archive -o FILE NAME:TAG"
    done <<<"$names"
    out=$(ctr_ images import --snapshotter overlayfs "$archive" 2>&1) || die "ctr could not import $archive: $out"
    have=$(ctr_ images ls -q)
    while read -r name; do
      # Docker's short names as a pod spec means them (lgcp-api:1 is docker.io/library/lgcp-api:1).
      [[ $name == */* ]] || name=docker.io/library/$name
      grep -qxF "$name" <<<"$have" || die "ctr imported $archive but no image '$name' is there: $out"
      echo "$name"
      # Also as <repository>@<manifest digest>: clients that insist on digest references (the
      # langgraph CLI's --image-uri) then find it on the node as a registry pull would leave it.
      digest=$(ctr_ images ls | awk -v n="$name" '$1 == n {print $3}')
      if [[ -n $digest ]]; then
        ctr_ images tag --force "$name" "${name%:*}@$digest" >/dev/null
      fi
      # podman's `localhost/NAME:TAG` is also tagged as what a pod's short `NAME:TAG` means.
      if [[ $name == localhost/* && ${name#localhost/} != */* ]]; then
        ctr_ images tag --force "$name" "docker.io/library/${name#localhost/}" >/dev/null
        echo "docker.io/library/${name#localhost/}"
      fi
    done <<<"$names"
  done
}

# --- up -----------------------------------------------------------------------------------

api_ready() { kc get --raw /readyz; }
node_ready() { [[ $(kc get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]; }
dns_ready() { [[ $(kc -n kube-system get deployment coredns -o jsonpath='{.status.availableReplicas}' 2>/dev/null) == 1 ]]; }
traefik_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$traefik_ping_port/ping"; }

healthy() {
  [[ -f $kubeconfig ]] || return 1
  local c
  for c in "${components[@]}"; do alive "$c" || return 1; done
  api_ready >/dev/null 2>&1 && node_ready && dns_ready && traefik_ready >/dev/null 2>&1 &&
    grep -qxF "$(hosts_line)" /etc/hosts
}

# The node's own objects: the Gateway API CRDs first (the ingress manifest uses them), then the
# rest in one apply.
bootstrap() {
  kc apply --server-side --force-conflicts -f "$realbin/gateway-api-crds.yaml" >/dev/null
  kc wait --for condition=Established --timeout 60s crd/gatewayclasses.gateway.networking.k8s.io \
    crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io >/dev/null
  local f
  for f in rbac storage coredns ingress; do
    echo "---"
    render "$here/manifests/$f.yaml"
  done | kc apply --server-side --force-conflicts -f - >/dev/null
}

# mark WHAT: the time since up began, into logs/up.log (docs/performance.md reads these).
mark() { echo "$(((${EPOCHREALTIME/./} - t0_us) / 1000)) ms $1" >>"$state/logs/up.log"; }

up() {
  require_root up
  exec 9>"$state.lock"
  flock -w 600 9 || die "another 'up' or 'down' of the real node is still running"
  if healthy; then
    say "already running"
    echo "$kubeconfig"
    return
  fi
  require_tools
  require_packages
  require_kernel
  local t0=$SECONDS repair="" other
  t0_us=${EPOCHREALTIME/./}
  if [[ -f $state/pki/ca.crt && -f $state/saved/sysctl ]] && alive etcd && alive kube-apiserver; then
    # The control plane runs (so do the workloads' records): start only what is missing.
    repair=1
    say "repairing: starting the components that are not running"
  elif [[ -d $state ]]; then
    say "clearing a node left half-started"
    down_locked
  fi
  if [[ -z $repair ]] && other=$(other_node); then
    die "a real node already runs on this machine from ${other:-another state folder}: use that one, or stop it there first (only one fits on a machine)"
  fi
  if [[ -z $repair && ! -d $state ]] && [[ $(ip -o addr show dev "$bridge" 2>/dev/null) == *" $gateway/"* ]]; then
    # Our bridge with no node behind it (none answers on the API server's port, no process
    # runs from a real node's state folder).
    local survivor
    survivor=$(pgrep -af '/real-node/(bin|pki|containerd)' | head -n1) || true
    [[ -z $survivor ]] || die "the bridge $bridge is up and a real node's process still runs ($survivor): stop that node first"
    say "removing the bridge $bridge and the rules a real node left when it died"
    clear_leftovers
  fi
  [[ -n $repair ]] || require_free_ports
  mkdir -p "$state" && chmod 711 "$state"
  save_machine
  network_up
  hosts_add
  write_config
  mark "configured"
  mapfile -t images < <(node_images)
  mark "node images ready"
  start_control_plane
  start containerd "$bin/containerd" --config "$state/containerd/config.toml"
  wait_until 30 "containerd answering" containerd ctr_ version
  import_images "${images[@]}" >/dev/null
  mark "node images imported"
  wait_until 60 "the API server ready" kube-apiserver api_ready
  mark "API server ready"
  # Everything else retries until the objects it needs exist, so it starts at once.
  start_controllers
  start_node
  bootstrap
  mark "bootstrap objects applied"
  start_traefik
  wait_until 60 "node $node Ready" kubelet node_ready
  mark "node Ready"
  wait_until 90 "CoreDNS available" kubelet dns_ready
  mark "CoreDNS available"
  wait_until 30 "Traefik answering" traefik traefik_ready
  mark "Traefik answering"
  say "${repair:+repaired, }up in $((SECONDS - t0))s: ingress http://$ingress_host$([[ $ingress_port == 80 ]] || echo ":$ingress_port")/, kubeconfig:"
  echo "$kubeconfig"
}

# --- down ---------------------------------------------------------------------------------

# stop PID...: SIGTERM, then SIGKILL what is still there after 10 s; only processes of ours.
stop_pids() {
  local pid left deadline=$((SECONDS + 10))
  for pid in "$@"; do ours "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  while :; do
    left=()
    for pid in "$@"; do ours "$pid" && left+=("$pid"); done
    [[ ${#left[@]} -eq 0 ]] && return
    if ((SECONDS >= deadline)); then
      for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 0.5
      return
    fi
    sleep 0.2
  done
}

# Every process whose command line names the state folder (components, containerd's shims).
our_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p != "$$" ]] && ours "$p" && echo "$p"
  done
  return 0
}

# The containers' processes: whatever is in the kubelet's cgroups (created by this node).
container_pids() {
  local dir
  for dir in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $dir ]] && grep -qxF "$dir" "$state/saved/cgroups" 2>/dev/null && continue
    [[ -d $dir ]] && find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  return 0
}

mounts_under() { # mount points below any of the given folders, deepest first
  awk '{print $5}' /proc/self/mountinfo | while read -r mp; do
    for base in "$@"; do [[ $mp == "$base"/* || $mp == "$base" ]] && echo "$mp"; done
  done | sort -ru
  return 0
}

down_locked() {
  local c pid f id
  # Host components first (reverse start order), so that nothing restarts a container.
  for c in kube-router traefik local-volumes kube-proxy kubelet kube-scheduler kube-controller-manager; do
    pid=$(cat "$state/pids/$c" 2>/dev/null) && stop_pids "$pid"
  done
  # Containers: killed outright, the whole node is going. First through runc's state of this
  # node, then whatever is still in the kubelet's cgroups (which this node created).
  local runc_root=$state/runc/k8s.io id
  if [[ -d $runc_root ]]; then
    for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
      runc --root "$runc_root" kill --all "$id" KILL 2>/dev/null || true
    done
  fi
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    mapfile -t pids < <(container_pids)
    [[ ${#pids[@]} -eq 0 ]] && break
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 0.3
  done
  # The shims have nothing left to wait for (their containers are gone) and do not exit on
  # SIGTERM: killed. Then containerd, the API server, etcd, and anything else of ours.
  mapfile -t pids < <(our_pids)
  for pid in "${pids[@]}"; do
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *containerd-shim-runc-v2* ]] && kill -KILL "$pid" 2>/dev/null
  done
  for c in containerd kube-apiserver etcd; do
    pid=$(cat "$state/pids/$c" 2>/dev/null) && stop_pids "$pid"
  done
  mapfile -t pids < <(our_pids)
  [[ ${#pids[@]} -eq 0 ]] || stop_pids "${pids[@]}"
  # Mounts: container root filesystems, pod volumes, network namespaces.
  local mp
  while read -r mp; do
    [[ -n $mp ]] && { umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true; }
  done < <(mounts_under "$state" /run/containerd /run/netns)
  if [[ -x $bin/kube-proxy ]]; then
    "$bin/kube-proxy" --cleanup >"$state.cleanup.log" 2>&1 || true
    rm -f "$state.cleanup.log"
  fi
  network_policies_cleanup
  nft delete table inet "$guard_table" 2>/dev/null || true
  local table
  while read -r table; do
    [[ $table =~ ^table\ (ip|ip6)\ (filter|nat|mangle|raw|security)$ ]] || continue
    grep -qxF "$table" "$state/saved/nft-tables" 2>/dev/null && continue
    [[ -f $state/saved/nft-tables ]] || continue
    # shellcheck disable=SC2086 # "table FAMILY NAME", three words
    [[ $(nft -j list $table 2>/dev/null) == *'"rule":'* ]] || nft delete $table 2>/dev/null || true
  done < <(nft list tables 2>/dev/null)
  # Host ends of the pods' veth pairs, then the bridge (and so its routes).
  for c in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$c" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  hosts_remove
  # The kubelet's cgroups, deepest first (only when they did not exist before up).
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $c ]] || continue
    grep -qxF "$c" "$state/saved/cgroups" 2>/dev/null && continue
    find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  if [[ -f $state/saved/sysctl ]]; then
    while IFS== read -r key value; do
      [[ -n $key ]] && sysctl -qw "$key=$value" 2>/dev/null || true
    done <"$state/saved/sysctl"
  fi
  for c in "${hardcoded[@]}"; do
    if grep -qxF "$c" "$state/saved/preexisting" 2>/dev/null; then
      # There before: only what is ours in it goes (the kubelet's log links into the state
      # folder; the CNI results libcni caches per container of network "lgcp", and the
      # loopback results of the same containers).
      case $c in
        /var/log/containers) find "$c" -maxdepth 1 -type l -lname "$state/*" -delete 2>/dev/null || true ;;
        /var/lib/cni)
          for f in "$c"/results/lgcp-*-eth0; do
            [[ -e $f ]] || continue
            id=${f#"$c"/results/lgcp-}
            rm -f "$f" "$c/results/cni-loopback-${id%-eth0}-lo"
          done ;;
      esac
    elif [[ -f $state/saved/preexisting ]]; then
      rm -rf "$c"
    fi
  done
  # kubectl's discovery cache of this API server (other users' kubectl keeps one per server).
  rm -rf "${HOME:-/root}/.kube/cache/discovery/${gateway}_$api_port"
  local left
  left=$(mounts_under "$state")
  [[ -z $left ]] || die "cannot unmount: $left"
  rm -rf "$state"
}

# What a node that died with its state folder gone (a machine restarted under it, a checkout
# removed) leaves in the machine's network: its guard table, its firewall rules, its bridge with
# the pods' veths, its hosts line. Only ever called when no node of ours runs.
clear_leftovers() {
  local c
  nft delete table inet "$guard_table" 2>/dev/null || true
  network_policies_cleanup
  for c in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$c" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  hosts_remove
}

down() {
  require_root down
  exec 9>"$state.lock"
  flock -w 600 9 || die "another 'up' or 'down' of the real node is still running"
  if [[ ! -d $state ]]; then
    local other
    if other=$(other_node); then
      say "not running from here; the real node on this machine is ${other:-another state folder}'s: left alone"
      return
    fi
    clear_leftovers
    say "not running"
    return
  fi
  down_locked
  say "stopped; the machine is as it was before up"
}

status() {
  healthy
}

# Shell assignments for the node: eval "$(scripts/cluster.sh env)".
env_() {
  local url=http://$ingress_host
  [[ $ingress_port == 80 ]] || url=$url:$ingress_port
  cat <<EOF
KUBECONFIG=$kubeconfig
LGCP_INGRESS_HOST=$ingress_host
LGCP_INGRESS_PORT=$ingress_port
LGCP_INGRESS_URL=$url
LGCP_INGRESS_CLASS=traefik
LGCP_GATEWAY=lgcp-ingress/lgcp
LGCP_STORAGE_CLASS=$storage_class
LGCP_PROBE_IMAGE=$probe_image
LGCP_REAL_NODE_STATE=$state
EOF
}

# stats [SECONDS]: the node's memory (RSS per process: its host processes and the containers'
# processes in the kubelet's cgroups) and its CPU over SECONDS (default 30), for
# docs/performance.md.
stats() {
  local seconds=${1:-30} p pids=() t1 t2 total=0 rss
  alive kube-apiserver || die "the real node is not running"
  mapfile -t pids < <(our_pids; container_pids)
  ticks() {
    local t=0 f
    for p in "${pids[@]}"; do
      read -r -a f <"/proc/$p/stat" 2>/dev/null && t=$((t + f[13] + f[14]))
    done
    echo "$t"
  }
  t1=$(ticks)
  sleep "$seconds"
  t2=$(ticks)
  for p in "${pids[@]}"; do
    rss=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null) || continue
    [[ -n $rss ]] || continue
    total=$((total + rss))
    printf '%8d KiB  %s\n' "$rss" "$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-90)"
  done | sort -rn
  for p in "${pids[@]}"; do awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null; done |
    awk -v n=${#pids[@]} '{s += $1} END {printf "total: %d processes, %.0f MiB RSS\n", n, s / 1024}'
  echo "CPU over ${seconds}s: $(((t2 - t1) * 1000 / seconds / $(getconf CLK_TCK) / 10))% of one core"
}

load_image() {
  require_root load-image
  [[ $# -gt 0 ]] || die "usage: scripts/cluster.sh load-image ARCHIVE... (OCI archives, e.g. from podman save --format oci-archive)"
  alive containerd || die "the real node is not running: scripts/cluster.sh up"
  import_images "$@"
}

# Sourced (e.g. to try one function): define everything, run nothing.
[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  env) env_ ;;
  load-image) shift; load_image "$@" ;;
  stats) shift; require_root stats; stats "$@" ;;
  *) die "usage: $0 up|down|status|env|stats [SECONDS]|load-image ARCHIVE..." ;;
esac
