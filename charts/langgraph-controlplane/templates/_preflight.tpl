{{/*
Fail-fast checks of combinations that values.schema.json cannot express. Each message names the
value and the fix. Rendered by templates/preflight.yaml, before anything is applied.
*/}}
{{- define "lgcp.preflight" -}}
{{- $v := .Values -}}
{{- if not $v.langsmith.hostname -}}
{{- fail "langsmith.hostname is required: set it to the host of your LangSmith installation (e.g. --set langsmith.hostname=langsmith.example.com)" -}}
{{- end -}}
{{- if and $v.langsmith.ingress.enabled $v.langsmith.gateway.enabled -}}
{{- fail "langsmith.ingress.enabled and langsmith.gateway.enabled are both true: choose one routing mode and set the other to false" -}}
{{- end -}}
{{- if not (or $v.langsmith.ingress.enabled $v.langsmith.gateway.enabled) -}}
{{- fail "no routing mode: set langsmith.ingress.enabled=true or langsmith.gateway.enabled=true" -}}
{{- end -}}
{{- if and $v.langsmith.gateway.enabled (not $v.langsmith.gateway.name) -}}
{{- fail "langsmith.gateway.enabled needs langsmith.gateway.name: the Gateway the routes attach to" -}}
{{- end -}}
{{- if and $v.langsmith.ingress.enabled $v.langsmith.ingress.tls.enabled (not $v.langsmith.ingress.tls.secretName) -}}
{{- fail "langsmith.ingress.tls.enabled needs langsmith.ingress.tls.secretName: the kubernetes.io/tls Secret of the host" -}}
{{- end -}}
{{- if and (not $v.postgres.enabled) (not $v.externalPostgres.existingSecret) -}}
{{- fail "postgres.enabled=false needs externalPostgres.existingSecret: a Secret with the key database-url (and admin-url for the listener's shared databases)" -}}
{{- end -}}
{{- if and (not $v.redis.enabled) (not $v.externalRedis.existingSecret) -}}
{{- fail "redis.enabled=false needs externalRedis.existingSecret: a Secret with the keys url and agent-url" -}}
{{- end -}}
{{- include "lgcp.preflight.dataPlane" . -}}
{{- if $v.listener.enabled -}}
{{- if and (gt (int $v.listener.replicas) 1) (not $v.listener.leaderElection.enabled) -}}
{{- fail "listener.replicas > 1 needs listener.leaderElection.enabled=true: two listeners without a lease would both write" -}}
{{- end -}}
{{- $mode := $v.listener.database.mode -}}
{{- if and (eq $mode "shared") (not $v.postgres.enabled) (not $v.externalPostgres.agentHost) -}}
{{- fail "listener.database.mode=shared with an external Postgres needs externalPostgres.agentHost: the host agent pods connect to" -}}
{{- end -}}
{{- if and (eq $mode "external") (not $v.listener.database.externalTemplatesSecret) -}}
{{- fail "listener.database.mode=external needs listener.database.externalTemplatesSecret: a Secret with the key database-uri-template" -}}
{{- end -}}
{{- $namespaces := splitList "," (include "lgcp.listener.namespaces" .) -}}
{{- if and $v.listener.defaultNamespace (not (has $v.listener.defaultNamespace $namespaces)) -}}
{{- fail (printf "listener.defaultNamespace %q is not one of listener.namespaces (%s): add it there or pick one of them" $v.listener.defaultNamespace (join ", " $namespaces)) -}}
{{- end -}}
{{- if and (not $v.listener.namespaces) (gt (len (include "lgcp.listener.defaultAgentsNamespace" .)) 63) -}}
{{- fail (printf "the agents' default namespace %q is longer than 63 characters: set listener.namespaces to a shorter name" (include "lgcp.listener.defaultAgentsNamespace" .)) -}}
{{- end -}}
{{- include "lgcp.preflight.agentNamespaces" . -}}
{{- end -}}
{{- if and $v.metrics.serviceMonitor.enabled (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}
{{- fail "metrics.serviceMonitor.enabled needs the Prometheus Operator's monitoring.coreos.com/v1 CRDs: install them first or set metrics.serviceMonitor.enabled=false" -}}
{{- end -}}
{{- if and $v.metrics.serviceMonitor.enabled $v.networkPolicy.enabled $v.networkPolicy.apiIngressFrom (not $v.networkPolicy.metricsIngressFrom) -}}
{{- fail "metrics.serviceMonitor.enabled with networkPolicy.apiIngressFrom needs networkPolicy.metricsIngressFrom: the peers of your Prometheus pods (e.g. a namespaceSelector on its namespace and a podSelector on app.kubernetes.io/name=prometheus), or the API NetworkPolicy blocks its scrapes" -}}
{{- end -}}
{{- if and $v.api.enabled $v.secrets.existingSecret -}}
{{- $needed := list "secret-key" "encryption-keys" "admin-api-key" -}}
{{- if and $v.listener.enabled (not $v.listener.apiKeySecret) -}}
{{- $needed = append $needed "listener-api-key" -}}
{{- end -}}
{{- include "lgcp.preflight.secretKeys" (dict "root" . "name" $v.secrets.existingSecret "value" "secrets.existingSecret" "keys" $needed) -}}
{{- end -}}
{{- if and $v.listener.enabled $v.listener.apiKeySecret -}}
{{- include "lgcp.preflight.secretKeys" (dict "root" . "name" $v.listener.apiKeySecret "value" "listener.apiKeySecret" "keys" (list "api-key")) -}}
{{- end -}}
{{- if and $v.api.autoscaling.enabled (gt (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) -}}
{{- fail "api.autoscaling.minReplicas is greater than api.autoscaling.maxReplicas: lower the first or raise the second" -}}
{{- end -}}
{{- end -}}

{{/*
An existing Secret the chart's pods read must hold every entry they read, or they wait in
CreateContainerConfigError and the install only times out. Checked with `lookup`, so only
against a cluster (`helm install/upgrade`, `--dry-run=server`): `helm template` passes, and so
does a Secret that does not exist yet (e.g. one an operator is about to sync).
*/}}
{{- define "lgcp.preflight.secretKeys" -}}
{{- $namespace := .root.Release.Namespace -}}
{{- $live := lookup "v1" "Secret" $namespace .name -}}
{{- if $live -}}
{{- $data := get $live "data" | default dict -}}
{{- $missing := list -}}
{{- range .keys -}}
{{- if not (get $data .) -}}{{- $missing = append $missing . -}}{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- $first := first $missing -}}
{{- $generate := "$(openssl rand -hex 32)" -}}
{{- if hasSuffix "api-key" $first -}}{{- $generate = "lgcp_$(openssl rand -hex 24)" -}}{{- end -}}
{{- if eq $first "encryption-keys" -}}{{- $generate = "$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" -}}{{- end -}}
{{- fail (printf "Secret %s in namespace %s (%s) has no %s, which the chart's pods read: add %s before installing or upgrading, e.g. kubectl --namespace %s patch secret %s --type merge -p \"{\\\"stringData\\\":{\\\"%s\\\":\\\"%s\\\"}}\"" .name $namespace .value (join ", " $missing) (eq (len $missing) 1 | ternary "it" "them") $namespace .name $first $generate) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The agents' namespaces against the cluster (`lookup`; an offline render answers nothing, told
apart by the release namespace not being found either, and passes):
- not created by the chart (`listener.createNamespaces=false`): each must exist;
- an upgrade of a release from before the agents had a namespace of their own (agents in the
  release namespace, `listener.namespaces` left empty) must not move the listener away from them.
*/}}
{{- define "lgcp.preflight.agentNamespaces" -}}
{{- $v := .Values -}}
{{- if lookup "v1" "Namespace" "" .Release.Namespace -}}
{{- if not $v.listener.createNamespaces -}}
{{- range $namespace := splitList "," (include "lgcp.listener.namespaces" $) -}}
{{- if not (lookup "v1" "Namespace" "" $namespace) -}}
{{- fail (printf "namespace %s (listener.namespaces) does not exist and listener.createNamespaces is false: create it, enforcing Pod Security restricted (kubectl create namespace %s && kubectl label namespace %s pod-security.kubernetes.io/enforce=restricted), or set listener.createNamespaces=true" $namespace $namespace $namespace) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Release.IsUpgrade (not $v.listener.namespaces) -}}
{{- $agents := list -}}
{{- range (lookup "apps/v1" "Deployment" .Release.Namespace "").items | default list -}}
{{- if eq (dig "metadata" "labels" "app.kubernetes.io/managed-by" "" .) "lgcp-listener" -}}
{{- $agents = append $agents .metadata.name -}}
{{- end -}}
{{- end -}}
{{- if $agents -}}
{{- fail (printf "agents run in the release namespace %s (%s), the default before listener.namespaces defaulted to %s: set listener.namespaces={%s} to keep the listener there (add %s after it for new agents to go there), or delete those deployments through the API first" .Release.Namespace (join ", " $agents) (include "lgcp.listener.defaultAgentsNamespace" .) .Release.Namespace (include "lgcp.listener.defaultAgentsNamespace" .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Data-plane mode (`api.enabled=false`): a listener in another cluster, and what it needs to find
and authenticate to the control plane.
*/}}
{{- define "lgcp.preflight.dataPlane" -}}
{{- $v := .Values -}}
{{- if not $v.api.enabled -}}
{{- if not $v.listener.enabled -}}
{{- fail "api.enabled=false installs only a data plane, which is its listener: set listener.enabled=true (or api.enabled=true for a control plane)" -}}
{{- end -}}
{{- if not $v.listener.controlPlane.url -}}
{{- fail "api.enabled=false needs listener.controlPlane.url: the control plane's /api-host URL as this cluster reaches it through the LangSmith ingress (e.g. --set listener.controlPlane.url=https://langsmith.example.com/api-host)" -}}
{{- end -}}
{{- if not (or $v.listener.apiKeySecret $v.listener.controlPlane.apiKey) -}}
{{- fail "api.enabled=false needs the listener's key: listener.apiKeySecret (a Secret with the key api-key) or listener.controlPlane.apiKey; make one on the control plane with POST /api-host/v2/api-keys {\"name\": \"<cluster>\", \"role\": \"listener\"}" -}}
{{- end -}}
{{- if not $v.listener.computeId -}}
{{- fail "api.enabled=false needs listener.computeId: the name this cluster's listener registers under on the control plane (deployments pick it as their listener)" -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (not $v.networkPolicy.externalEgress) -}}
{{- fail "api.enabled=false with networkPolicy.enabled needs networkPolicy.externalEgress: a rule that lets the listener reach listener.controlPlane.url (e.g. the ingress' addresses on port 443)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
