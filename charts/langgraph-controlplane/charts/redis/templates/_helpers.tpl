{{/* Every define carries the `lgcp-redis.` prefix: defines are global across the umbrella chart. */}}

{{/* The parent chart computes the same name (lgcp.redis.fullname); keep the two equal. */}}
{{- define "lgcp-redis.fullname" -}}
{{- .Values.fullnameOverride | default (printf "%s-%s" .Release.Name .Chart.Name) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lgcp-redis.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lgcp-redis.labels" -}}
{{ include "lgcp-redis.selectorLabels" . }}
app.kubernetes.io/component: cache
app.kubernetes.io/part-of: langgraph-controlplane
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lgcp-redis.image" -}}
{{- $registry := .Values.image.registry | default .Values.global.imageRegistry -}}
{{- $ref := .Values.image.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" $registry $ref -}}{{- end -}}
{{- if .Values.image.digest -}}{{- printf "%s@%s" $ref .Values.image.digest -}}{{- else -}}{{- printf "%s:%s" $ref .Values.image.tag -}}{{- end -}}
{{- end -}}

{{- define "lgcp-redis.secretName" -}}
{{- .Values.auth.existingSecret | default (include "lgcp-redis.fullname" .) -}}
{{- end -}}
