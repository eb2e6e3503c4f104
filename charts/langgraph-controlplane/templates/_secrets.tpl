{{/*
The chart's generated secrets. Each value is read back from the live Secret when it exists
(`lookup`), so upgrades keep it; only a missing value is generated. The result is memoised for
the render so that the Secret and the checksum annotations see the same values.
*/}}

{{- define "lgcp.secrets.name" -}}
{{- .Values.secrets.existingSecret | default (include "lgcp.componentName" (dict "root" . "component" "secrets")) -}}
{{- end -}}

{{/* The Secret's `data` (base64 values) as YAML; only when the chart owns the Secret. */}}
{{- define "lgcp.secrets.data" -}}
{{- if not (hasKey .Values "__lgcpGeneratedSecrets") -}}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "lgcp.secrets.name" .) | default dict -}}
{{- $old := get $live "data" | default dict -}}
{{- /* A Fernet key is 32 random bytes in URL-safe base64. */ -}}
{{- $fernet := randBytes 32 | replace "+" "-" | replace "/" "_" -}}
{{- $data := dict
    "secret-key" (get $old "secret-key" | default (randAlphaNum 64 | b64enc))
    "encryption-keys" (get $old "encryption-keys" | default ($fernet | b64enc))
    "admin-api-key" (get $old "admin-api-key" | default (printf "lgcp_%s" (randAlphaNum 48) | b64enc))
    "listener-api-key" (get $old "listener-api-key" | default (printf "lgcp_%s" (randAlphaNum 48) | b64enc)) -}}
{{- $_ := set .Values "__lgcpGeneratedSecrets" $data -}}
{{- end -}}
{{- toYaml (get .Values "__lgcpGeneratedSecrets") -}}
{{- end -}}

{{/* What a pod's checksum annotation covers for one key of the chart's Secret. */}}
{{- define "lgcp.secrets.checksum" -}}
{{- if .root.Values.secrets.existingSecret -}}
{{- printf "existing:%s" .root.Values.secrets.existingSecret | sha256sum -}}
{{- else -}}
{{- $data := include "lgcp.secrets.data" .root | fromYaml -}}
{{- $picked := list -}}
{{- range .keys }}{{ $picked = append $picked (get $data .) }}{{ end -}}
{{- join "," $picked | sha256sum -}}
{{- end -}}
{{- end -}}

{{/*
Where the listener's API key lives: `listener.apiKeySecret` (key `api-key`) when set; in
data-plane mode (`api.enabled=false`) the Secret made from `listener.controlPlane.apiKey`; else
`listener-api-key` of the chart's Secret. The API bootstraps it as a key with the `listener`
role (LGCP_LISTENER_API_KEY) and the listener authenticates with it, so the admin key never
leaves the API.
*/}}
{{- define "lgcp.listenerKey.secretKeyRef" -}}
{{- if .Values.listener.apiKeySecret -}}
name: {{ .Values.listener.apiKeySecret }}
key: api-key
{{- else if not .Values.api.enabled -}}
name: {{ include "lgcp.listenerKey.dataPlaneSecretName" . }}
key: api-key
{{- else -}}
name: {{ include "lgcp.secrets.name" . }}
key: listener-api-key
{{- end -}}
{{- end -}}

{{/* The checksum that rolls the API and the listener when the listener's key changes. */}}
{{- define "lgcp.listenerKey.checksum" -}}
{{- if .Values.listener.apiKeySecret -}}
{{- printf "existing:%s" .Values.listener.apiKeySecret | sha256sum -}}
{{- else if not .Values.api.enabled -}}
{{- .Values.listener.controlPlane.apiKey | sha256sum -}}
{{- else -}}
{{- include "lgcp.secrets.checksum" (dict "root" . "keys" (list "listener-api-key")) -}}
{{- end -}}
{{- end -}}

{{/* Data-plane mode: the Secret made from `listener.controlPlane.apiKey`. */}}
{{- define "lgcp.listenerKey.dataPlaneSecretName" -}}
{{- include "lgcp.componentName" (dict "root" . "component" "listener-key") -}}
{{- end -}}

{{- define "lgcp.langsmith.secretName" -}}
{{- .Values.langsmith.existingSecret | default (include "lgcp.componentName" (dict "root" . "component" "langsmith")) -}}
{{- end -}}

{{/* True when agents get a LangSmith key or license from the chart at all. */}}
{{- define "lgcp.langsmith.hasSecret" -}}
{{- if or .Values.langsmith.existingSecret .Values.langsmith.apiKey .Values.langsmith.licenseKey -}}true{{- end -}}
{{- end -}}
