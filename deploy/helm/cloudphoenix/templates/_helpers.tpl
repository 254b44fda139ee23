{{/* The release's resource name, at most 63 characters. */}}
{{- define "cloudphoenix.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cloudphoenix.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cloudphoenix.labels" -}}
{{ include "cloudphoenix.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "cloudphoenix.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cloudphoenix.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cloudphoenix.configMapName" -}}
{{- default (include "cloudphoenix.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{/* Whether the controllers share the PostgreSQL store (several replicas, no volume). */}}
{{- define "cloudphoenix.postgres" -}}
{{- if eq (.Values.config.store.driver | default "sqlite") "postgres" -}}true{{- end -}}
{{- end -}}

{{/* Several controllers need a store they can all reach: refuse them on a SQLite file. */}}
{{- define "cloudphoenix.checkReplicas" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "cloudphoenix.postgres" .)) -}}
{{- fail "replicaCount > 1 needs config.store.driver: postgres (several controllers cannot share a SQLite file on a ReadWriteOnce volume); set the PostgreSQL store or replicaCount: 1" -}}
{{- end -}}
{{- end -}}

{{- define "cloudphoenix.claimName" -}}
{{- default (printf "%s-data" (include "cloudphoenix.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}
