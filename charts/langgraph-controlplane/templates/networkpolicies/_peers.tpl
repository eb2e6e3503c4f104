{{/* NetworkPolicy peers and rules shared by the policies in this folder. */}}

{{- define "lgcp.netpol.component" -}}
podSelector:
  matchLabels:
    {{- include "lgcp.selectorLabels" (dict "root" .root "component" .component) | nindent 4 }}
{{- end -}}

{{/* Pods of a subchart (postgres or redis), by the selector labels that subchart sets. */}}
{{- define "lgcp.netpol.subchart" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/name: {{ .name }}
    app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "lgcp.netpol.dnsEgress" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end -}}

{{/* Egress to the control plane's Postgres and Redis: the subcharts' pods, or `externalEgress`. */}}
{{- define "lgcp.netpol.storeEgress" -}}
{{- if .Values.postgres.enabled }}
- to:
    - {{- include "lgcp.netpol.subchart" (dict "root" . "name" "postgres") | trim | nindent 6 }}
  ports:
    - port: 5432
      protocol: TCP
{{- end }}
{{- if .Values.redis.enabled }}
- to:
    - {{- include "lgcp.netpol.subchart" (dict "root" . "name" "redis") | trim | nindent 6 }}
  ports:
    - port: 6379
      protocol: TCP
{{- end }}
{{- with .Values.networkPolicy.externalEgress }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pods allowed to reach Postgres and Redis: the chart's and any pod of a watched namespace (agents). */}}
{{- define "lgcp.netpol.storeClients" -}}
- {{- include "lgcp.netpol.component" (dict "root" . "component" "api") | trim | nindent 2 }}
- {{- include "lgcp.netpol.component" (dict "root" . "component" "migrate") | trim | nindent 2 }}
- {{- include "lgcp.netpol.component" (dict "root" . "component" "listener") | trim | nindent 2 }}
{{- if .Values.listener.enabled }}
- namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: In
        values: {{ splitList "," (include "lgcp.listener.namespaces" .) | toJson }}
  podSelector:
    matchLabels:
      app.kubernetes.io/managed-by: lgcp-listener
{{- end }}
{{- end -}}
