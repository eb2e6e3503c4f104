{{/*
Names, labels and images shared by every template. Every define carries the `lgcp.` prefix:
defines are global across the umbrella chart and its subcharts.
*/}}

{{- define "lgcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-wide prefix; the release name alone when it already contains the chart name. */}}
{{- define "lgcp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A component's name: the prefix cut so that "-<component>" always fits in 63 characters, so two
components never collide after truncation. Call with (dict "root" $ "component" "api").
*/}}
{{- define "lgcp.componentName" -}}
{{- $suffix := printf "-%s" .component -}}
{{- $prefix := include "lgcp.fullname" .root | trunc (int (sub 63 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s%s" $prefix $suffix -}}
{{- end -}}

{{- define "lgcp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the life of a release (a Deployment's selector is immutable). */}}
{{- define "lgcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lgcp.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lgcp.labels" -}}
{{ include "lgcp.selectorLabels" . }}
helm.sh/chart: {{ include "lgcp.chart" .root }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: langgraph-controlplane
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* registry/repository:tag@digest; call with (dict "root" $ "image" .Values.api.image). */}}
{{- define "lgcp.image" -}}
{{- $registry := .image.registry | default .root.Values.global.imageRegistry -}}
{{- $ref := .image.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" $registry $ref -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The pod's imagePullSecrets field, or nothing. */}}
{{- define "lgcp.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* "" for "/", else "/prefix" without a trailing slash. */}}
{{- define "lgcp.basePath" -}}
{{- $trimmed := trimAll "/" .Values.langsmith.basePath -}}
{{- if $trimmed -}}{{- printf "/%s" $trimmed -}}{{- end -}}
{{- end -}}

{{/* The in-cluster URL of the API's REST root, as the listener and `helm test` call it. */}}
{{- define "lgcp.api.internalUrl" -}}
{{- printf "http://%s.%s.svc:%d%s/api-host" (include "lgcp.componentName" (dict "root" . "component" "api")) .Release.Namespace (int .Values.api.port) (include "lgcp.basePath" .) -}}
{{- end -}}

{{/* Where the listener calls the API: in-cluster, or the control plane's URL in data-plane mode. */}}
{{- define "lgcp.listener.apiUrl" -}}
{{- if .Values.api.enabled -}}
{{- include "lgcp.api.internalUrl" . -}}
{{- else -}}
{{- .Values.listener.controlPlane.url | trimSuffix "/" -}}
{{- end -}}
{{- end -}}

{{/* Namespaces the listener writes to; the release namespace by default. */}}
{{- define "lgcp.listener.namespaces" -}}
{{- $namespaces := .Values.listener.namespaces | default (list (include "lgcp.listener.defaultAgentsNamespace" .)) -}}
{{- join "," (uniq $namespaces) -}}
{{- end -}}

{{/* Where agents go when `listener.namespaces` is empty: beside, never inside, the release
namespace (which holds the chart's Secrets). */}}
{{- define "lgcp.listener.defaultAgentsNamespace" -}}
{{- printf "%s-agents" .Release.Namespace -}}
{{- end -}}

{{/*
The agents' namespaces the chart creates and owns (`listener.createNamespaces`): the listener's,
but the release namespace (it exists before the release does) and any namespace that exists
and is not this release's (someone else's, or one a deleted release kept): those are used as
they are. Deterministic across upgrades: a namespace this release created stays in its
manifest. An offline render (`helm template`) cannot look them up and renders them all.
*/}}
{{- define "lgcp.listener.createdNamespaces" -}}
{{- if and .Values.listener.enabled .Values.listener.createNamespaces -}}
{{- $created := list -}}
{{- range $namespace := without (splitList "," (include "lgcp.listener.namespaces" .)) .Release.Namespace -}}
{{- $live := lookup "v1" "Namespace" "" $namespace -}}
{{- $annotations := dig "metadata" "annotations" dict $live -}}
{{- $ours := and (eq (get $annotations "meta.helm.sh/release-name") $.Release.Name) (eq (get $annotations "meta.helm.sh/release-namespace") $.Release.Namespace) -}}
{{- if or (not $live) $ours -}}
{{- $created = append $created $namespace -}}
{{- end -}}
{{- end -}}
{{- join "," $created -}}
{{- end -}}
{{- end -}}

{{/*
Names of the subcharts' objects, computed exactly as the subcharts compute them (their
fullname); tests/names_test.yaml checks that the two agree.
*/}}
{{- define "lgcp.postgres.fullname" -}}
{{- .Values.postgres.fullnameOverride | default (printf "%s-postgres" .Release.Name) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lgcp.redis.fullname" -}}
{{- .Values.redis.fullnameOverride | default (printf "%s-redis" .Release.Name) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
