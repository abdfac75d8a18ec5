{{/* Names, labels and the rotator configuration the chart assembles. */}}

{{- define "rotator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource name prefix; the release name alone when it already contains the chart name. */}}
{{- define "rotator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rotator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rotator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rotator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rotator.labels" -}}
helm.sh/chart: {{ include "rotator.chart" . }}
{{ include "rotator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: worker
app.kubernetes.io/part-of: qualys-secret-rotator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rotator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rotator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "rotator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the pod sees its configuration and credentials. */}}
{{- define "rotator.configPath" -}}/etc/rotator/rotator.yaml{{- end }}
{{- define "rotator.secretsDir" -}}/var/run/secrets/rotator{{- end }}

{{/*
The chart's own Secret holds the credentials given inline in values; a credential from an existingSecret is read
from there instead. Each is mounted as a file in rotator.secretsDir, under a fixed name.
*/}}
{{- define "rotator.secretName" -}}{{ include "rotator.fullname" . }}-credentials{{- end }}

{{- define "rotator.inlineCredentials" -}}
{{- $data := dict }}
{{- if and (not .Values.qualys.existingSecret) .Values.qualys.password }}
{{- $_ := set $data "qualys-password" .Values.qualys.password }}
{{- end }}
{{- if and .Values.redisAuth.enabled (not .Values.redisAuth.existingSecret) .Values.redisAuth.password }}
{{- $_ := set $data "redis-password" .Values.redisAuth.password }}
{{- end }}
{{- if and .Values.admin.enabled (not .Values.admin.existingSecret) .Values.admin.token }}
{{- $_ := set $data "admin-token" .Values.admin.token }}
{{- end }}
{{- toJson $data }}
{{- end }}

{{/* Fails the render with a message naming the value to set, before anything reaches the cluster. */}}
{{- define "rotator.validate" -}}
{{- if and .Values.qualys.password .Values.qualys.existingSecret }}
{{- fail "qualys: set either qualys.password or qualys.existingSecret, not both" }}
{{- end }}
{{- if not (or .Values.qualys.password .Values.qualys.existingSecret) }}
{{- fail "qualys: the Qualys password is required: set qualys.existingSecret (a Secret with the key qualys.existingSecretKey) or qualys.password" }}
{{- end }}
{{- if and .Values.redisAuth.enabled (not (or .Values.redisAuth.password .Values.redisAuth.existingSecret)) }}
{{- fail "redisAuth: redisAuth.enabled needs redisAuth.existingSecret or redisAuth.password" }}
{{- end }}
{{- if and .Values.admin.enabled (not (or .Values.admin.token .Values.admin.existingSecret)) }}
{{- fail "admin: admin.enabled needs admin.existingSecret or admin.token" }}
{{- end }}
{{- if and .Values.admin.enabled .Values.admin.token (lt (len .Values.admin.token) 32) }}
{{- fail "admin.token: use at least 32 random characters (e.g. openssl rand -hex 32)" }}
{{- end }}
{{- $worker := .Values.config.worker | default dict }}
{{- $shutdown := include "rotator.durationSeconds" (dict "text" ($worker.shutdownTimeout | default "20s")) | int }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add $shutdown 5) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.worker.shutdownTimeout (%ds) by more than 5 seconds, so active rotations reach a checkpoint before SIGKILL" (int .Values.terminationGracePeriodSeconds) $shutdown) }}
{{- end }}
{{- end }}

{{/* Whole seconds (rounded up) of a rotator duration such as 20s, 1m30s, 1.5m or 500ms. */}}
{{- define "rotator.durationSeconds" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 }}
{{- $ms := 0.0 }}
{{- range $part := regexFindAll "[0-9]+([.][0-9]+)?(ms|s|m|h|d|w)" (toString .text) -1 }}
{{- $number := regexFind "^[0-9]+([.][0-9]+)?" $part }}
{{- $unit := trimPrefix $number $part }}
{{- $ms = addf $ms (mulf (float64 $number) (get $units $unit)) }}
{{- end }}
{{- divf $ms 1000 | ceil | int }}
{{- end }}

{{/*
The rotator's YAML: config from values, plus what the chart owns (credential files, the http section).
*/}}
{{- define "rotator.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $dir := include "rotator.secretsDir" . }}
{{- $qualys := deepCopy ($config.qualys | default dict) }}
{{- $_ := set $qualys "passwordFile" (printf "%s/qualys-password" $dir) }}
{{- $_ := set $config "qualys" $qualys }}
{{- if .Values.redisAuth.enabled }}
{{- $redis := deepCopy ($config.redis | default dict) }}
{{- $_ := set $redis "passwordFile" (printf "%s/redis-password" $dir) }}
{{- $_ := set $config "redis" $redis }}
{{- end }}
{{- $http := dict "host" "0.0.0.0" "port" (int .Values.http.port) }}
{{- if .Values.admin.enabled }}
{{- $_ := set $http "adminTokenFile" (printf "%s/admin-token" $dir) }}
{{- end }}
{{- $_ := set $config "http" $http }}
{{- toYaml $config }}
{{- end }}
