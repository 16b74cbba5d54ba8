{{/* Labels every object of the chart carries. */}}
{{- define "datastore.labels" -}}
app.kubernetes.io/part-of: apigee-hybrid-emulator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
apigee.cloud.google.com/platform: apigee
{{- end -}}

{{- define "datastore.image" -}}
{{ .Values.image.registry }}/{{ .name }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "datastore.fullname" -}}apigee-cassandra-default{{- end -}}
