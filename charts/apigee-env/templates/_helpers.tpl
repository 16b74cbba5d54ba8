{{- define "env.labels" -}}
app.kubernetes.io/part-of: apigee-hybrid-emulator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
apigee.cloud.google.com/platform: apigee
org: {{ .Values.org }}
env: {{ .Values.env }}
{{- end -}}

{{- define "env.image" -}}
{{ .root.Values.image.registry }}/{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{- define "env.probes" -}}
livenessProbe:
  httpGet:
    path: /v1/probes/live
    port: main
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /v1/probes/ready
    port: main
  periodSeconds: 5
  failureThreshold: 3
{{- end -}}

{{- define "env.securityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/* The entry of envs this release runs; fails naming the choices. */}}
{{- define "env.entry" -}}
{{- $found := dict -}}
{{- range .Values.envs }}{{ if eq .name $.Values.env }}{{ $found = . }}{{ end }}{{ end -}}
{{- if not $found }}{{ fail (printf "env %q is not in envs (set --set env=NAME to one of the environments in envs[])" .Values.env) }}{{ end -}}
{{- toJson $found -}}
{{- end -}}

{{- define "env.secretName" -}}
{{- if .ref -}}{{ .ref }}{{- else -}}{{ .default }}{{- end -}}
{{- end -}}

{{- define "env.cassandraArgs" -}}
- --cassandra.hosts
- {{ .Values.cassandra.hosts }}
- --cassandra.port
- {{ .Values.cassandra.port | quote }}
{{- if .Values.cassandra.credentialsSecretRef }}
- --cassandra.credentialsFile
- /var/run/hybrid/cassandra/credentials
{{- end }}
{{- end -}}

{{- define "env.cassandraVolume" -}}
{{- if .Values.cassandra.credentialsSecretRef }}
- name: cassandra-credentials
  secret:
    secretName: {{ .Values.cassandra.credentialsSecretRef }}
    defaultMode: 0400
{{- end }}
{{- end -}}

{{- define "env.cassandraMount" -}}
{{- if .Values.cassandra.credentialsSecretRef }}
- name: cassandra-credentials
  mountPath: /var/run/hybrid/cassandra
  readOnly: true
{{- end }}
{{- end -}}
