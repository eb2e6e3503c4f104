# shellcheck shell=bash
# The real node's certificates, made with openssl (sourced by scripts/cluster/real.sh): one CA,
# a serving certificate each for the API server and the kubelet, a client certificate per
# component (its user name and groups are the certificate's CN and O), and the service-account
# signing key. EC P-256 keys: quick to make, accepted everywhere in Kubernetes.

pki_ca() {
  local dir=$1
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=lgcp-real-node-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# pki_cert DIR NAME SUBJECT USAGE [SAN]: NAME.crt/NAME.key signed by the CA; USAGE is
# clientAuth or serverAuth; SAN e.g. "IP:198.18.0.1,DNS:kubernetes".
pki_cert() {
  local dir=$1 name=$2 subject=$3 usage=$4 san=${5:-} ext
  ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$usage"
  [[ -z $san ]] || ext="$ext
subjectAltName=$san"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -days 3650 \
    -set_serial "0x$(openssl rand -hex 16)" -extfile <(echo "$ext") -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr"
}

# pki_kubeconfig DIR NAME SERVER OUT: a kubeconfig for the client certificate NAME.
pki_kubeconfig() {
  local dir=$1 name=$2 server=$3 out=$4
  (
    umask 077
    cat >"$out" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: lgcp-real
    cluster:
      server: $server
      certificate-authority-data: $(base64 -w0 <"$dir/ca.crt")
users:
  - name: $name
    user:
      client-certificate-data: $(base64 -w0 <"$dir/$name.crt")
      client-key-data: $(base64 -w0 <"$dir/$name.key")
contexts:
  - name: lgcp-real
    context: {cluster: lgcp-real, user: $name}
current-context: lgcp-real
KUBECONFIG
  )
}

# pki_all DIR NODE GATEWAY SERVICE_IP: every certificate the node uses.
pki_all() {
  local dir=$1 node=$2 gateway=$3 service_ip=$4
  (
    umask 077
    mkdir -p "$dir"
    pki_ca "$dir"
    pki_cert "$dir" apiserver "/CN=kube-apiserver" serverAuth \
      "IP:$gateway,IP:$service_ip,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
    pki_cert "$dir" kubelet-serving "/CN=$node" serverAuth "IP:$gateway,DNS:$node"
    # The API server's identity towards the kubelet (logs, exec), bound to system:kubelet-api-admin.
    pki_cert "$dir" apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" clientAuth
    pki_cert "$dir" admin "/O=system:masters/CN=lgcp-admin" clientAuth
    pki_cert "$dir" controller-manager "/CN=system:kube-controller-manager" clientAuth
    pki_cert "$dir" scheduler "/CN=system:kube-scheduler" clientAuth
    pki_cert "$dir" kubelet "/O=system:nodes/CN=system:node:$node" clientAuth
    pki_cert "$dir" kube-proxy "/CN=system:kube-proxy" clientAuth
    pki_cert "$dir" traefik "/CN=lgcp:traefik" clientAuth
    pki_cert "$dir" local-volumes "/CN=lgcp:local-volumes" clientAuth
    pki_cert "$dir" kube-router "/CN=lgcp:kube-router" clientAuth
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/sa.key" 2>/dev/null
    openssl ec -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  )
}
