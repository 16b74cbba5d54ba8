{{/* Labels every object of the chart carries. */}}
{{- define "org.labels" -}}
app.kubernetes.io/part-of: apigee-hybrid-emulator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
apigee.cloud.google.com/platform: apigee
org: {{ .Values.org }}
{{- end -}}

{{/* image of a service: (dict "root" $ "name" "mart") */}}
{{- define "org.image" -}}
{{ .root.Values.image.registry }}/{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{/* The shared runtime's probes on the main listener. */}}
{{- define "org.probes" -}}
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

{{- define "org.securityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/* Secret holding a component's service-account key file:
     (dict "root" $ "component" "mart" "cfg" .Values.mart) */}}
{{- define "org.saSecret" -}}
{{- if .cfg.serviceAccountRef -}}{{ .cfg.serviceAccountRef }}{{- else -}}{{ .root.Values.org }}-apigee-{{ .component }}-svc-account{{- end -}}
{{- end -}}

{{- define "org.encryptionKeysSecret" -}}
{{- if .Values.encryptionKeys.secretRef -}}{{ .Values.encryptionKeys.secretRef }}{{- else -}}{{ .Values.org }}-encryption-keys{{- end -}}
{{- end -}}

{{- define "org.martSecret" -}}
{{- if .Values.mart.sharedSecretRef -}}{{ .Values.mart.sharedSecretRef }}{{- else -}}{{ .Values.org }}-mart-shared-secret{{- end -}}
{{- end -}}

{{/* Cassandra flags and the credentials mount, shared by MART. */}}
{{- define "org.cassandraArgs" -}}
- --cassandra.hosts
- {{ .Values.cassandra.hosts }}
- --cassandra.port
- {{ .Values.cassandra.port | quote }}
{{- if .Values.cassandra.credentialsSecretRef }}
- --cassandra.credentialsFile
- /var/run/hybrid/cassandra/credentials
{{- end }}
{{- end -}}
