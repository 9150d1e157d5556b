{{/*
Helpers for the batchscore chart. The objects in workflowTemplates and cronWorkflows hold Argo expressions: they
are only copied (omit, set, merge on their metadata) and printed with toYaml, never rendered as templates.
*/}}

{{- define "batchscore.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of the release-wide objects (ServiceAccount, Roles, the backfill template, the GPU semaphore, the cron
hook): fullnameOverride, else batchscore. A second release in the same namespace sets its own.
*/}}
{{- define "batchscore.fullname" -}}
{{- .Values.fullnameOverride | default "batchscore" -}}
{{- end -}}

{{/*
The recommended labels on everything this chart installs, with the object's component. Called with
(dict "root" $ "component" NAME). The same keys as `batchscore render` writes (recommendedLabels in
packages/coordinator/src/render/names.ts), with the release as the instance and Helm as the manager.
*/}}
{{- define "batchscore.labels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: batchscore
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "batchscore.chart" .root }}
{{- end -}}

{{/* The labels the chart sets over an object's own: the release is its instance, and Helm manages it. */}}
{{- define "batchscore.releaseLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "batchscore.chart" . }}
{{- end -}}

{{- define "batchscore.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "batchscore.fullname" .) -}}
{{- end -}}

{{- define "batchscore.roleName" -}}
{{- printf "%s-workflow" (include "batchscore.serviceAccountName" .) | trunc 253 -}}
{{- end -}}

{{- define "batchscore.backfillName" -}}
{{- printf "%s-backfill" (include "batchscore.fullname" .) -}}
{{- end -}}

{{- define "batchscore.gpuSemaphoreName" -}}
{{- .Values.gpuSemaphore.name | default (printf "%s-gpu" (include "batchscore.fullname" .)) -}}
{{- end -}}

{{- define "batchscore.cronHookName" -}}
{{- printf "%s-cron-hook" (include "batchscore.fullname" .) -}}
{{- end -}}

{{/*
batchscore.fitName: (list NAME MAX) → NAME when it has at most MAX characters, else its first MAX-6 characters
without a trailing '-', '-' and the first 5 hex digits of its SHA-256: fitName in
packages/coordinator/src/render/names.ts, which names the CronWorkflows (Argo allows at most 52 characters).
*/}}
{{- define "batchscore.fitName" -}}
{{- $name := index . 0 -}}
{{- $max := index . 1 | int -}}
{{- if le (len $name) $max -}}
{{- $name -}}
{{- else -}}
{{- printf "%s-%s" (regexReplaceAll "-+$" (trunc (sub $max 6 | int) $name) "") (trunc 5 (sha256sum $name)) -}}
{{- end -}}
{{- end -}}

{{/*
batchscore.argoObject: one object of files/backfill.json, ready for toYaml. Called with (dict "obj" OBJECT "root"
$). Returns a copy (the values are not modified) in the release namespace, named after the release's fullname
(batchscore-backfill, or FULLNAME-backfill: the template, its ServiceAccount, Role and RoleBinding), its labels
its own with the release's over them.
*/}}
{{- define "batchscore.argoObject" -}}
{{- $obj := deepCopy .obj -}}
{{- $root := .root -}}
{{- $name := include "batchscore.backfillName" $root -}}
{{- $md := $obj.metadata | default dict -}}
{{- $meta := omit $md "namespace" "labels" "uid" "resourceVersion" "generation" "creationTimestamp" "managedFields" -}}
{{- $labels := merge (include "batchscore.releaseLabels" $root | fromYaml) (get $md "labels" | default dict) -}}
{{- $_ := set $meta "name" $name -}}
{{- $_ := set $meta "namespace" $root.Release.Namespace -}}
{{- $_ := set $meta "labels" $labels -}}
{{- $out := omit $obj "metadata" "status" -}}
{{- $_ := set $out "metadata" $meta -}}
{{- if eq $obj.kind "WorkflowTemplate" }}{{ $_ := set $out.spec "serviceAccountName" $name }}{{ end -}}
{{- if eq $obj.kind "RoleBinding" -}}
{{- $_ := set $out.roleRef "name" $name -}}
{{- $_ := set $out "subjects" (list (dict "kind" "ServiceAccount" "name" $name)) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
