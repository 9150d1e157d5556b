{{- /*
The objects of one job, built from the job document under .Values.jobs exactly as `batchscore render` builds them
(packages/coordinator/src/render/): test/helm/renderEquality.test.ts renders the example jobs both ways with the
real helm and asserts the objects are equal, labels aside. Defaults the job leaves out come from
batchscore.defaults (_defaults.tpl, generated from the spec parser by `npm run render:examples`), and the image
and default resources from .Values.

Argo's own expressions ({{workflow.parameters.date}} and the like) appear here only inside Go string literals, so
Helm prints them as data and Argo gets them unchanged. Everything is built as dicts and printed with toYaml.
Each define takes (dict "job" JOB "root" $) and returns YAML; callers parse it back with fromYaml.
*/ -}}

{{- /*
The labels `batchscore render` gives a job's objects, runs and pods (jobLabels in
packages/coordinator/src/render/names.ts): the recommended ones with the job as the instance, the job's name and
model version, and the job's own labels over them. Called with (dict "job" JOB "root" $ "component" NAME).
*/ -}}
{{- define "batchscore.jobLabels" -}}
{{- $job := .job -}}
{{- $labels := dict "app.kubernetes.io/name" "batchscore" "app.kubernetes.io/instance" $job.metadata.name "app.kubernetes.io/version" .root.Chart.AppVersion "app.kubernetes.io/component" .component "app.kubernetes.io/part-of" "batchscore" "app.kubernetes.io/managed-by" "batchscore" -}}
{{- $_ := set $labels "batchscore.dev/job" $job.metadata.name -}}
{{- $_ := set $labels "batchscore.dev/model-version" (toString $job.spec.model.version) -}}
{{- range $k, $v := ($job.metadata.labels | default dict) }}{{ $_ := set $labels $k (toString $v) }}{{ end -}}
{{- toYaml $labels -}}
{{- end -}}

{{- /* What `batchscore render` refuses, refused here too, naming the job and the field. */ -}}
{{- define "batchscore.checkJob" -}}
{{- $job := .job -}}
{{- $where := printf "jobs[%d] (%s)" .index (dig "metadata" "name" "?" $job) -}}
{{- range $f := list "input" "model" "output" -}}
{{- $uri := dig "spec" $f "uri" "" $job | toString -}}
{{- if not (hasPrefix "s3://" $uri) -}}
{{- fail (printf "%s: spec.%s.uri: %q is not an s3:// URI; pods cannot read a local disk" $where $f $uri) -}}
{{- end -}}
{{- end -}}
{{- $webhook := dig "spec" "notify" "webhook" nil $job -}}
{{- if or (and (kindIs "string" $webhook) $webhook) (and (kindIs "map" $webhook) (hasKey $webhook "url")) -}}
{{- fail (printf "%s: spec.notify.webhook.url: a plain webhook URL would be copied into the cluster's objects, and chat webhooks carry their token in it; use spec.notify.webhook.urlFromEnv with spec.cluster.webhookSecret" $where) -}}
{{- end -}}
{{- end -}}

{{- define "batchscore.jobConfigMap" -}}
{{- $job := .job -}}
{{- $cm := dict "apiVersion" "v1" "kind" "ConfigMap" -}}
{{- $_ := set $cm "metadata" (dict "name" (printf "batchscore-job-%s" $job.metadata.name) "namespace" .root.Release.Namespace "labels" (include "batchscore.allLabels" (merge (dict "component" "job") .) | fromYaml)) -}}
{{- $_ := set $cm "data" (dict "job.yaml" (toYaml $job)) -}}
{{- toYaml $cm -}}
{{- end -}}

{{- /*
The labels of an object the chart installs for a job: the job's (batchscore.jobLabels), with the release as the
instance and Helm as the manager over them. Called with (dict "job" JOB "root" $ "component" NAME).
*/ -}}
{{- define "batchscore.allLabels" -}}
{{- toYaml (merge (include "batchscore.releaseLabels" .root | fromYaml) (include "batchscore.jobLabels" . | fromYaml)) -}}
{{- end -}}

{{- /* Kubernetes resources: requests and limits, each only when it has a quantity. */ -}}
{{- define "batchscore.resources" -}}
{{- $out := dict -}}
{{- range $side := list "requests" "limits" -}}
{{- $m := dict -}}
{{- range $k, $v := (index $.res $side | default dict) }}{{ $_ := set $m $k (toString $v) }}{{ end -}}
{{- if and (eq $side "limits") $.gpus -}}{{- $_ := set $m "nvidia.com/gpu" (toString $.gpus) -}}{{- end -}}
{{- if $m -}}{{- $_ := set $out $side $m -}}{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "batchscore.workflowTemplate" -}}
{{- $job := .job -}}
{{- $root := .root -}}
{{- $d := include "batchscore.defaults" $root | fromJson -}}
{{- $c := dig "spec" "cluster" dict $job -}}
{{- $name := $job.metadata.name -}}
{{- $version := toString $job.spec.model.version -}}
{{- $gpus := int (dig "gpusPerWorker" 0 $c) -}}
{{- $gpu := gt $gpus 0 -}}
{{- $tag := $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- $image := dig "image" (printf "%s:%s-%s" $root.Values.image.repository $tag (ternary "gpu" "cpu" $gpu)) $c -}}
{{- /* plan, merge, record-failure and notify never use a GPU: a GPU job runs them on the CPU image */ -}}
{{- $coordImage := dig "coordinatorImage" (ternary (printf "%s:%s-cpu" $root.Values.image.repository $tag) $image $gpu) $c -}}
{{- $coordPlacement := dict -}}
{{- with (dig "coordinatorNodeSelector" dict $c) }}{{ $_ := set $coordPlacement "nodeSelector" . }}{{ end -}}
{{- with (dig "coordinatorTolerations" list $c) }}{{ $_ := set $coordPlacement "tolerations" . }}{{ end -}}
{{- $pullPolicy := dig "imagePullPolicy" $root.Values.image.pullPolicy $c -}}
{{- $date := "{{workflow.parameters.date}}" -}}
{{- $out := $job.spec.output.uri | toString -}}
{{- if not (hasSuffix "/" $out) }}{{ $out = printf "%s/" $out }}{{ end -}}
{{- $plan := list "--plan" (printf "%s_batchscore/%s/%s/plan.json" $out $date $version) -}}
{{- $jobArgs := list "/etc/batchscore/job/job.yaml" -}}
{{- $jobMount := list (dict "name" "job" "mountPath" "/etc/batchscore/job" "readOnly" true) -}}
{{- $parallelism := int (dig "parallelism" $d.parallelism $c) -}}
{{- $scorePods := int (dig "scorePods" (min (mul $d.scorePodsPerSlot $parallelism) $d.maxScorePods) $c) -}}
{{- $r := dig "retries" dict $c -}}
{{- $backoff := dig "backoff" dict $r -}}
{{- $retryStrategy := dict "limit" (int (dig "limit" $d.retries.limit $r)) "retryPolicy" "Always" "expression" $d.retryExpression "backoff" (dict "duration" (dig "duration" $d.retries.backoff.duration $backoff) "factor" (int (dig "factor" $d.retries.backoff.factor $backoff)) "maxDuration" (dig "maxDuration" $d.retries.backoff.maxDuration $backoff)) -}}
{{- $webhook := dig "spec" "notify" "webhook" dict $job -}}
{{- $outcome := list "--workflow" "{{workflow.name}}" "--status" "{{workflow.status}}" "--failures" "{{workflow.failures}}" -}}
{{- $metricLabels := list (dict "key" "job" "value" $name) (dict "key" "model_version" "value" $version) -}}
{{- /* env: the log format, the image (score pods record it in their shard commits), the job's S3 settings (the plan URI alone names no endpoint), spec.cluster.env, S3 credentials by reference */ -}}
{{- $env := list (dict "name" "BATCHSCORE_LOG_FORMAT" "value" "json") (dict "name" "BATCHSCORE_IMAGE" "value" $image) -}}
{{- $s3 := dig "spec" "storage" "s3" dict $job -}}
{{- with $s3.endpoint }}{{ $env = append $env (dict "name" "AWS_ENDPOINT_URL_S3" "value" .) }}{{ end -}}
{{- if hasKey $s3 "forcePathStyle" }}{{ $env = append $env (dict "name" "BATCHSCORE_S3_FORCE_PATH_STYLE" "value" (ternary "1" "0" $s3.forcePathStyle)) }}{{ end -}}
{{- range $k, $v := (dig "env" dict $c) }}{{ $env = append $env (dict "name" $k "value" (toString $v)) }}{{ end -}}
{{- with $c.s3Secret -}}
{{- $env = append $env (dict "name" "AWS_ACCESS_KEY_ID" "valueFrom" (dict "secretKeyRef" (dict "name" .name "key" (dig "accessKeyIdKey" $d.s3Secret.accessKeyIdKey .)))) -}}
{{- $env = append $env (dict "name" "AWS_SECRET_ACCESS_KEY" "valueFrom" (dict "secretKeyRef" (dict "name" .name "key" (dig "secretAccessKeyKey" $d.s3Secret.secretAccessKeyKey .)))) -}}
{{- end -}}
{{- $securityContext := dict "runAsNonRoot" true "runAsUser" 10001 "runAsGroup" 10001 "readOnlyRootFilesystem" true "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) -}}
{{- $coordRes := include "batchscore.resources" (dict "res" (dig "coordinatorResources" $root.Values.resources.coordinator $c) "gpus" 0) | fromYaml -}}
{{- $workerRes := include "batchscore.resources" (dict "res" (dig "resources" $root.Values.resources.worker $c) "gpus" $gpus) | fromYaml -}}
{{- $base := dict "image" $coordImage "command" (list "batchscore") "env" $env "securityContext" $securityContext -}}
{{- if $pullPolicy }}{{ $_ := set $base "imagePullPolicy" $pullPolicy }}{{ end -}}
{{- $scratch := dict "name" "scratch" "mountPath" "/tmp" -}}
{{- /* the plan pod */ -}}
{{- $planArgs := concat (list "plan") $jobArgs (list "--date" $date "--skip-complete={{workflow.parameters.skip-complete}}" "--complete-file" "/tmp/complete" "--shard-count-file" "/tmp/shards" "--pod-count-file" "/tmp/pods" "--max-pods" (toString $scorePods)) -}}
{{- $planC := merge (dict "args" $planArgs "resources" $coordRes "volumeMounts" (prepend $jobMount $scratch)) (deepCopy $base) -}}
{{- $planT := merge (dict "name" "plan" "container" $planC "retryStrategy" $retryStrategy "outputs" (dict "parameters" (list (dict "name" "shards" "valueFrom" (dict "path" "/tmp/shards")) (dict "name" "pods" "valueFrom" (dict "path" "/tmp/pods")) (dict "name" "complete" "valueFrom" (dict "path" "/tmp/complete"))))) (deepCopy $coordPlacement) -}}
{{- /* the score pods */ -}}
{{- $scoreArgs := concat (list "score") $plan (list "--pod" "{{inputs.parameters.pod}}" "--pods" "{{inputs.parameters.pods}}") -}}
{{- if $gpu }}{{ $scoreArgs = concat $scoreArgs (list "--default-device" "cuda") }}{{ end -}}
{{- $grace := int (dig "terminationGracePeriodSeconds" $d.terminationGracePeriodSeconds $c) -}}
{{- $scoreArgs = concat $scoreArgs (list "--grace-period" (toString $grace)) -}}
{{- $scoreC := merge (dict "image" $image "args" $scoreArgs "resources" $workerRes "volumeMounts" (list $scratch (dict "name" "dshm" "mountPath" "/dev/shm"))) (deepCopy $base) -}}
{{- $scoreT := dict "name" "score" "inputs" (dict "parameters" (list (dict "name" "pod") (dict "name" "pods"))) "container" $scoreC "retryStrategy" $retryStrategy -}}
{{- $nodeSelector := deepCopy (dig "nodeSelector" dict $c) -}}
{{- if and $gpu $c.gpuProduct }}{{ $_ := set $nodeSelector "nvidia.com/gpu.product" $c.gpuProduct }}{{ end -}}
{{- if $nodeSelector }}{{ $_ := set $scoreT "nodeSelector" $nodeSelector }}{{ end -}}
{{- $tolerations := dig "tolerations" list $c -}}
{{- $hasGpuToleration := false -}}
{{- range $tolerations }}{{ if eq (dig "key" "" .) "nvidia.com/gpu" }}{{ $hasGpuToleration = true }}{{ end }}{{ end -}}
{{- if and $gpu (not $hasGpuToleration) }}{{ $tolerations = append $tolerations (dict "key" "nvidia.com/gpu" "operator" "Exists" "effect" "NoSchedule") }}{{ end -}}
{{- if $tolerations }}{{ $_ := set $scoreT "tolerations" $tolerations }}{{ end -}}
{{- $patch := dict "terminationGracePeriodSeconds" $grace -}}
{{- if and $gpu $c.runtimeClassName }}{{ $_ := set $patch "runtimeClassName" $c.runtimeClassName }}{{ end -}}
{{- $_ := set $scoreT "podSpecPatch" (toJson $patch) -}}
{{- with $c.gpuSemaphore }}{{ $_ := set $scoreT "synchronization" (dict "semaphores" (list (dict "configMapKeyRef" (dict "name" .configMap "key" (dig "key" $d.gpuSemaphoreKey .))))) }}{{ end -}}
{{- /* merge, the exit handler, record-failure and notify */ -}}
{{- $mergeC := merge (dict "args" (concat (list "merge") $plan) "resources" $coordRes "volumeMounts" (list $scratch)) (deepCopy $base) -}}
{{- $mergeT := merge (dict "name" "merge" "container" $mergeC "retryStrategy" $retryStrategy) (deepCopy $coordPlacement) -}}
{{- $exitTasks := list (dict "name" "record-failure" "template" "record-failure" "when" "{{workflow.status}} != Succeeded") -}}
{{- if $webhook }}{{ $exitTasks = append $exitTasks (dict "name" "notify" "template" "notify") }}{{ end -}}
{{- $exitT := dict "name" "exit-handler" "dag" (dict "tasks" $exitTasks) -}}
{{- $rfC := merge (dict "args" (concat (list "record-failure") $jobArgs (list "--date" $date) $outcome) "resources" $coordRes "volumeMounts" (prepend $jobMount $scratch)) (deepCopy $base) -}}
{{- $rfT := merge (dict "name" "record-failure" "container" $rfC "retryStrategy" $retryStrategy) (deepCopy $coordPlacement) -}}
{{- $notNotComplete := "{{tasks.plan.outputs.parameters.complete}} != true" -}}
{{- $pods := "{{tasks.plan.outputs.parameters.pods}}" -}}
{{- $main := dict "name" "main" "parallelism" $parallelism "dag" (dict "tasks" (list (dict "name" "plan" "template" "plan") (dict "name" "score" "template" "score" "depends" "plan" "when" $notNotComplete "withSequence" (dict "count" $pods) "arguments" (dict "parameters" (list (dict "name" "pod" "value" "{{item}}") (dict "name" "pods" "value" $pods)))) (dict "name" "merge" "template" "merge" "depends" "score" "when" $notNotComplete))) -}}
{{- $templates := list $main $planT $scoreT $mergeT $exitT $rfT -}}
{{- if $webhook -}}
{{- $notifyEnv := $env -}}
{{- if and $webhook.urlFromEnv $c.webhookSecret }}{{ $notifyEnv = append $env (dict "name" $webhook.urlFromEnv "valueFrom" (dict "secretKeyRef" (dict "name" $c.webhookSecret.name "key" (dig "key" $d.webhookSecretKey $c.webhookSecret)))) }}{{ end -}}
{{- $notifyC := merge (dict "args" (concat (list "notify") $jobArgs (list "--date" $date) $outcome) "resources" $coordRes "volumeMounts" (prepend $jobMount $scratch) "env" $notifyEnv) (deepCopy $base) -}}
{{- $templates = append $templates (merge (dict "name" "notify" "container" $notifyC "retryStrategy" $retryStrategy) (deepCopy $coordPlacement)) -}}
{{- end -}}
{{- $labels := include "batchscore.allLabels" (merge (dict "component" "workflow-template") .) | fromYaml -}}
{{- $runLabels := include "batchscore.jobLabels" (merge (dict "component" "run") .) | fromYaml -}}
{{- $metrics := dict "prometheus" (list (dict "name" "batchscore_workflow_duration_seconds" "help" "Wall time of a batchscore Workflow, by outcome." "labels" (append $metricLabels (dict "key" "status" "value" "{{workflow.status}}")) "gauge" (dict "value" "{{workflow.duration}}" "realtime" false)) (dict "name" "batchscore_workflow_result_total" "help" "batchscore Workflows finished, by outcome (Succeeded, Failed, Error)." "labels" (append $metricLabels (dict "key" "status" "value" "{{workflow.status}}")) "counter" (dict "value" "1"))) -}}
{{- $spec := dict "entrypoint" "main" "onExit" "exit-handler" "metrics" $metrics -}}
{{- /* a job that names no ServiceAccount runs as the release's (batchscore, unless fullnameOverride or serviceAccount.name) */ -}}
{{- $_ := set $spec "serviceAccountName" (dig "serviceAccount" (include "batchscore.serviceAccountName" $root) $c) -}}
{{- $_ := set $spec "activeDeadlineSeconds" (int (dig "activeDeadlineSeconds" $d.activeDeadlineSeconds $c)) -}}
{{- $_ := set $spec "podGC" (dict "strategy" (dig "podGC" "strategy" $d.podGC.strategy $c)) -}}
{{- $_ := set $spec "ttlStrategy" (dig "ttlStrategy" $d.ttlStrategy $c) -}}
{{- $_ := set $spec "synchronization" (dict "mutexes" (list (dict "name" (printf "batchscore-%s-%s" $name $date)))) -}}
{{- $_ := set $spec "podMetadata" (dict "labels" $runLabels) -}}
{{- $_ := set $spec "securityContext" (dict "runAsNonRoot" true "runAsUser" 10001 "runAsGroup" 10001 "fsGroup" 10001 "seccompProfile" (dict "type" "RuntimeDefault")) -}}
{{- $_ := set $spec "volumes" (list (dict "name" "scratch" "emptyDir" dict) (dict "name" "job" "configMap" (dict "name" (printf "batchscore-job-%s" $name) "items" (list (dict "key" "job.yaml" "path" "job.yaml")))) (dict "name" "dshm" "emptyDir" (dict "medium" "Memory" "sizeLimit" (toString (dig "shmSize" $d.shmSize $c))))) -}}
{{- $_ := set $spec "templates" $templates -}}
{{- $_ := set $spec "arguments" (dict "parameters" (list (dict "name" "date" "description" "The batch date to score, YYYY-MM-DD") (dict "name" "skip-complete" "value" "false" "description" "true: do nothing when the date is already published for this model (version and sha256)"))) -}}
{{- $_ := set $spec "workflowMetadata" (dict "labels" $runLabels "labelsFrom" (dict "batchscore.dev/date" (dict "expression" "workflow.parameters.date"))) -}}
{{- toYaml (dict "apiVersion" "argoproj.io/v1alpha1" "kind" "WorkflowTemplate" "metadata" (dict "name" (printf "batchscore-%s" $name) "namespace" $root.Release.Namespace "labels" $labels) "spec" $spec) -}}
{{- end -}}

{{- /*
The CronWorkflow: the date scored is the scheduled time's calendar date in the job's zone, moved by dateOffsetDays
(see scheduledDate in packages/coordinator/src/render/renderWorkflow.ts for why it is built this way).
*/ -}}
{{- define "batchscore.cronWorkflow" -}}
{{- $job := .job -}}
{{- $root := .root -}}
{{- $d := include "batchscore.defaults" $root | fromJson -}}
{{- $s := $job.spec.cluster.schedule -}}
{{- $tz := dig "timezone" $d.schedule.timezone $s -}}
{{- $offset := int (dig "dateOffsetDays" $d.schedule.dateOffsetDays $s) -}}
{{- $local := printf "sprig.dateInZone('2006-01-02', sprig.toDate('2006-01-02T15:04:05Z07:00', workflow.scheduledTime), '%s')" $tz -}}
{{- $date := $local -}}
{{- if ne $offset 0 -}}
{{- $date = printf "sprig.dateInZone('2006-01-02', sprig.dateModify('%dh', sprig.toDate('2006-01-02T15:04:05Z07:00', %s + 'T00:00:00Z')), 'UTC')" (mul $offset 24) $local -}}
{{- end -}}
{{- $template := printf "batchscore-%s" $job.metadata.name -}}
{{- $name := include "batchscore.fitName" (list $template 52) -}}
{{- $runLabels := include "batchscore.jobLabels" (merge (dict "component" "run") .) | fromYaml -}}
{{- $wfSpec := dict "workflowTemplateRef" (dict "name" $template) "arguments" (dict "parameters" (list (dict "name" "date" "value" (printf "{{=%s}}" $date)))) "workflowMetadata" (dict "labelsFrom" (dict "batchscore.dev/date" (dict "expression" $date))) -}}
{{- $spec := dict "schedules" $s.crons "timezone" $tz "concurrencyPolicy" "Forbid" "startingDeadlineSeconds" (int (dig "startingDeadlineSeconds" $d.schedule.startingDeadlineSeconds $s)) "successfulJobsHistoryLimit" (int (dig "successfulJobsHistoryLimit" $d.schedule.successfulJobsHistoryLimit $s)) "failedJobsHistoryLimit" (int (dig "failedJobsHistoryLimit" $d.schedule.failedJobsHistoryLimit $s)) "workflowMetadata" (dict "labels" $runLabels) "workflowSpec" $wfSpec -}}
{{- /*
Argo CD applies it after the WorkflowTemplate (sync wave 0): Argo's cron controller leaves a CronWorkflow whose
template is not there yet unscheduled until its 20-minute resync (argo-workflows#12332). Under Helm, which creates
CronWorkflows first, the cron hook (cron-hook.yaml) has the controller validate it again.
*/ -}}
{{- $meta := dict "name" $name "namespace" $root.Release.Namespace "labels" (include "batchscore.allLabels" (merge (dict "component" "schedule") .) | fromYaml) "annotations" (dict "argocd.argoproj.io/sync-wave" "1") -}}
{{- toYaml (dict "apiVersion" "argoproj.io/v1alpha1" "kind" "CronWorkflow" "metadata" $meta "spec" $spec) -}}
{{- end -}}
