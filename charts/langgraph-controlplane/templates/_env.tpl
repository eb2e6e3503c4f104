{{/*
Environment shared by the API, the migration Job and `helm test`. A password of the bundled
Postgres or Redis is passed apart from its URL (`..._PASSWORD` from a secretKeyRef, the URL
without it) and the service puts it into the URL percent-encoded: no password sits in a rendered
manifest or a ConfigMap, and any character works (`@ / : %` would break a URL pasted into).
*/}}

{{- define "lgcp.postgres.secretName" -}}
{{- .Values.postgres.auth.existingSecret | default (include "lgcp.postgres.fullname" .) -}}
{{- end -}}

{{- define "lgcp.redis.secretName" -}}
{{- .Values.redis.auth.existingSecret | default (include "lgcp.redis.fullname" .) -}}
{{- end -}}

{{- define "lgcp.postgres.host" -}}
{{- printf "%s.%s.svc" (include "lgcp.postgres.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "lgcp.redis.host" -}}
{{- printf "%s.%s.svc" (include "lgcp.redis.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* LGCP_DATABASE_URL (and the password it is built from). */}}
{{- define "lgcp.env.databaseUrl" -}}
{{- if .Values.postgres.enabled }}
- name: LGCP_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "lgcp.postgres.secretName" . }}
      key: password
- name: LGCP_DATABASE_URL
  value: {{ printf "postgresql://%s@%s:%d/%s" .Values.postgres.auth.username (include "lgcp.postgres.host" .) (int .Values.postgres.service.port) .Values.postgres.auth.database | quote }}
{{- else }}
- name: LGCP_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalPostgres.existingSecret }}
      key: database-url
{{- end }}
{{- end -}}

{{/* The control plane's Redis URL as the variable `name` (notifications use database 0). */}}
{{- define "lgcp.env.redisUrl" -}}
{{- if .root.Values.redis.enabled }}
- name: {{ trimSuffix "_URL" .name }}_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "lgcp.redis.secretName" .root }}
      key: password
- name: {{ .name }}
  value: {{ printf "redis://%s:%d/0" (include "lgcp.redis.host" .root) (int .root.Values.redis.service.port) | quote }}
{{- else }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.externalRedis.existingSecret }}
      key: url
{{- end }}
{{- end -}}

{{/* Everything `lgcp-api` reads, for the API pods and the migration Job. */}}
{{- define "lgcp.env.api" -}}
{{- include "lgcp.env.databaseUrl" . }}
{{- include "lgcp.env.redisUrl" (dict "root" . "name" "LGCP_REDIS_URL") }}
- name: LGCP_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "lgcp.secrets.name" . }}
      key: secret-key
- name: LGCP_ENCRYPTION_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "lgcp.secrets.name" . }}
      key: encryption-keys
- name: LGCP_ADMIN_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "lgcp.secrets.name" . }}
      key: admin-api-key
{{- if .Values.listener.enabled }}
- name: LGCP_LISTENER_API_KEY
  valueFrom:
    secretKeyRef:
      {{- include "lgcp.listenerKey.secretKeyRef" . | nindent 6 }}
{{- end }}
- name: LGCP_BASE_PATH
  value: {{ include "lgcp.basePath" . | default "/" | quote }}
- name: LGCP_UI_PATH
  value: {{ .Values.api.uiPath | quote }}
- name: LGCP_LANGSMITH_HOSTNAME
  value: {{ .Values.langsmith.hostname | quote }}
# The UI's session cookie is Secure only when the host is served over TLS.
- name: LGCP_UI_COOKIE_SECURE
  value: {{ and .Values.langsmith.ingress.enabled .Values.langsmith.ingress.tls.enabled | ternary "true" "false" | quote }}
- name: LGCP_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: LGCP_LOG_LEVEL
  value: {{ .Values.api.logLevel | quote }}
{{- end -}}

{{/* Where the listener creates agents' databases (shared mode), what each agent's own
databases are made of (dedicated mode) or their templates (external). */}}
{{- define "lgcp.env.listenerDatabases" -}}
{{- $mode := .Values.listener.database.mode -}}
{{- if eq $mode "dedicated" }}
{{- $d := .Values.listener.database.dedicated }}
- name: LGCP_LISTENER_DEDICATED_POSTGRES_IMAGE
  value: {{ include "lgcp.image" (dict "root" . "image" $d.postgres.image) | quote }}
- name: LGCP_LISTENER_DEDICATED_REDIS_IMAGE
  value: {{ include "lgcp.image" (dict "root" . "image" $d.redis.image) | quote }}
- name: LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_SIZE
  value: {{ $d.postgres.storage.size | quote }}
{{- with $d.postgres.storage.storageClass }}
- name: LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_CLASS
  value: {{ . | quote }}
{{- end }}
- name: LGCP_LISTENER_DEDICATED_POSTGRES_RESOURCES
  value: {{ $d.postgres.resources | toJson | quote }}
- name: LGCP_LISTENER_DEDICATED_REDIS_RESOURCES
  value: {{ $d.redis.resources | toJson | quote }}
{{- with $d.imagePullSecrets }}
- name: LGCP_LISTENER_DEDICATED_IMAGE_PULL_SECRETS
  value: {{ join "," . | quote }}
{{- end }}
{{- else if eq $mode "external" }}
- name: LGCP_LISTENER_EXTERNAL_DATABASE_URI_TEMPLATE
  valueFrom:
    secretKeyRef:
      name: {{ .Values.listener.database.externalTemplatesSecret }}
      key: database-uri-template
- name: LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE
  valueFrom:
    secretKeyRef:
      name: {{ .Values.listener.database.externalTemplatesSecret }}
      key: redis-uri-template
{{- else }}
{{- if .Values.postgres.enabled }}
- name: LGCP_LISTENER_POSTGRES_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "lgcp.postgres.secretName" . }}
      key: admin-password
- name: LGCP_LISTENER_POSTGRES_ADMIN_URL
  value: {{ printf "postgresql://%s@%s:%d/%s" .Values.postgres.auth.adminUsername (include "lgcp.postgres.host" .) (int .Values.postgres.service.port) .Values.postgres.auth.adminDatabase | quote }}
- name: LGCP_LISTENER_AGENT_POSTGRES_HOST
  value: {{ include "lgcp.postgres.host" . | quote }}
- name: LGCP_LISTENER_AGENT_POSTGRES_PORT
  value: {{ .Values.postgres.service.port | quote }}
{{- else }}
- name: LGCP_LISTENER_POSTGRES_ADMIN_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalPostgres.existingSecret }}
      key: admin-url
- name: LGCP_LISTENER_AGENT_POSTGRES_HOST
  value: {{ .Values.externalPostgres.agentHost | quote }}
- name: LGCP_LISTENER_AGENT_POSTGRES_PORT
  value: {{ .Values.externalPostgres.agentPort | quote }}
{{- end }}
{{- if .Values.redis.enabled }}
- name: LGCP_LISTENER_AGENT_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "lgcp.redis.secretName" . }}
      key: password
- name: LGCP_LISTENER_AGENT_REDIS_URL
  value: {{ printf "redis://%s:%d" (include "lgcp.redis.host" .) (int .Values.redis.service.port) | quote }}
- name: LGCP_LISTENER_AGENT_REDIS_DATABASES
  value: {{ .Values.redis.databases | quote }}
{{- else }}
- name: LGCP_LISTENER_AGENT_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: agent-url
- name: LGCP_LISTENER_AGENT_REDIS_DATABASES
  value: {{ .Values.externalRedis.databases | quote }}
{{- end }}
- name: LGCP_LISTENER_AGENT_REDIS_ACL
  value: {{ .Values.listener.database.redisAcl | quote }}
- name: LGCP_LISTENER_SPARE_DATABASES
  value: {{ .Values.listener.database.spareDatabases | quote }}
{{- end }}
{{- end -}}
