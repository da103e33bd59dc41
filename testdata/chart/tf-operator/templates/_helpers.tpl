{{- define "tf-operator.labels" -}}
app.kubernetes.io/name: tf-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tf-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}
