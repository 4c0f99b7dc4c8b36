{{/* The release's full name, cut to 63 characters (a DNS label). */}}
{{- define "kubeburst.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "kubeburst.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kubeburst.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the pods; never change them (a Deployment's selector is immutable). */}}
{{- define "kubeburst.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubeburst.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubeburst.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* kubeburst's config file (src/config/config-schema.ts), from the values. */}}
{{- define "kubeburst.config" -}}
{{- $production := dict "name" .Values.production.name "role" "production" -}}
{{- with .Values.production.kubeconfigSecret -}}
{{- $_ := set $production "kubeconfig" "/etc/kubeburst/production/kubeconfig" -}}
{{- end -}}
{{- range $field := list "podCIDRs" "serviceCIDRs" "nodeCIDRs" -}}
{{- with index $.Values.production $field -}}
{{- $_ := set $production $field . -}}
{{- end -}}
{{- end -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- $_ := set $config "clusters" (list $production) -}}
{{- $_ := set $config "namespace" .Release.Namespace -}}
{{- $_ := set $config "metrics" (dict "address" (printf ":%d" (int .Values.metrics.port))) -}}
{{- $election := deepCopy (get $config "leaderElection" | default dict) -}}
{{- $_ := set $election "enabled" true -}}
{{- $_ := set $config "leaderElection" $election -}}
{{- toYaml $config -}}
{{- end -}}
