{{/*
Helpers for the batchscore chart. The objects in workflowTemplates and cronWorkflows hold Argo expressions: they
are only copied (omit, set, merge on their metadata) and printed with toYaml, never rendered as templates.
*/}}

{{- define "batchscore.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The standard labels on everything this chart installs. */}}
{{- define "batchscore.labels" -}}
helm.sh/chart: {{ include "batchscore.chart" . }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: batchscore
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "batchscore.serviceAccountName" -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}

{{- define "batchscore.roleName" -}}
{{- printf "%s-workflow" (include "batchscore.serviceAccountName" .) | trunc 253 -}}
{{- end -}}

{{/*
batchscore.argoObject: one Argo object from values, ready for toYaml. Called with (dict "obj" OBJECT "root" $).
Returns a copy (the values are not modified) whose metadata.namespace is the release namespace and whose labels
are the object's own plus the chart's. On a key both set, the object's own value stays: batchscore labels what
it renders (app.kubernetes.io/managed-by: batchscore among them) and may select on those labels.
Drops metadata fields that the API server owns, in case the object was copied from a cluster (kubectl get).
*/}}
{{- define "batchscore.argoObject" -}}
{{- $obj := .obj -}}
{{- $root := .root -}}
{{- $md := $obj.metadata | default dict -}}
{{- $meta := omit $md "namespace" "labels" "uid" "resourceVersion" "generation" "creationTimestamp" "managedFields" -}}
{{- $chartLabels := include "batchscore.labels" $root | fromYaml -}}
{{- $labels := merge (dict) (get $md "labels" | default dict) $chartLabels -}}
{{- $_ := set $meta "namespace" $root.Release.Namespace -}}
{{- $_ := set $meta "labels" $labels -}}
{{- $out := omit $obj "metadata" "status" -}}
{{- $_ := set $out "metadata" $meta -}}
{{- toYaml $out -}}
{{- end -}}
