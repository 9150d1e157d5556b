import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { BatchscoreError } from '@batchscore/core';
import { mapKubeError, WORKFLOW_GROUP, WORKFLOW_VERSION } from './kubeClient.js';

/** The annotation refreshSchedules sets: the uid of the WorkflowTemplate the CronWorkflow was last validated with. */
export const REFRESHED_FOR = 'batchscore.dev/validated-with-template';

/** The part of a CronWorkflow refreshSchedules reads. */
export type CronWorkflowRef = KubernetesObject & {
  spec?: { workflowSpec?: { workflowTemplateRef?: { name?: string } } };
};

/** What refreshSchedules needs of the cluster, in one namespace. */
export interface SchedulesApi {
  /** The CronWorkflow (one that does not exist is an error). */
  getCronWorkflow(name: string): Promise<CronWorkflowRef>;
  /** The WorkflowTemplate, or null when there is none of that name. */
  getTemplate(name: string): Promise<KubernetesObject | null>;
  /** A merge patch of the CronWorkflow's annotations. */
  annotate(name: string, annotations: Record<string, string>): Promise<void>;
}

export type RefreshOutcome = 'refreshed' | 'up to date';

/**
 * Has Argo's cron controller validate each named CronWorkflow again once its WorkflowTemplate exists. The controller
 * validates a CronWorkflow when it is added or updated, and a CronWorkflow that names a WorkflowTemplate not there
 * yet stays unscheduled until the next update or its 20-minute resync (argo-workflows#12332). Helm creates kinds
 * it does not know in alphabetical order, CronWorkflow before WorkflowTemplate, so the chart runs this as a
 * post-install/post-upgrade hook: any change to the object is an update, and an annotation naming the template's
 * uid is one that says what it was validated with. A CronWorkflow that already names its template's uid is left
 * alone, so an upgrade that changes only a job's ConfigMap changes nothing here. Fails, naming it, when a
 * CronWorkflow or its template does not exist.
 */
export async function refreshSchedules(
  api: SchedulesApi,
  names: string[],
): Promise<{ name: string; outcome: RefreshOutcome }[]> {
  const out: { name: string; outcome: RefreshOutcome }[] = [];
  for (const name of names) {
    const cron = await api.getCronWorkflow(name);
    const templateName = cron.spec?.workflowSpec?.workflowTemplateRef?.name;
    if (!templateName)
      throw new BatchscoreError('SPEC_INVALID', `cronworkflow ${name} names no WorkflowTemplate (workflowTemplateRef)`);
    const template = await api.getTemplate(templateName);
    if (!template) {
      throw new BatchscoreError(
        'NOT_INSTALLED',
        `cronworkflow ${name}: its workflowtemplate ${templateName} does not exist, so Argo cannot schedule it`,
      );
    }
    const uid = template.metadata!.uid!;
    if (cron.metadata?.annotations?.[REFRESHED_FOR] === uid) {
      out.push({ name, outcome: 'up to date' });
      continue;
    }
    await api.annotate(name, { [REFRESHED_FOR]: uid });
    out.push({ name, outcome: 'refreshed' });
  }
  return out;
}

/** SchedulesApi over a kubeconfig, in `namespace`. */
export function schedulesApi(kc: KubeConfig, namespace: string): SchedulesApi {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const server = kc.getCurrentCluster()?.server ?? '(no cluster)';
  const ref = (kind: string, name: string) => ({
    apiVersion: `${WORKFLOW_GROUP}/${WORKFLOW_VERSION}`,
    kind,
    metadata: { name, namespace },
  });
  const fail = (err: unknown, verb: 'get' | 'patch', kind: 'cronworkflow' | 'workflowtemplate', name: string) =>
    mapKubeError(err, { verb, namespace, name, kind, server });
  return {
    async getCronWorkflow(name) {
      try {
        return await objects.read(ref('CronWorkflow', name));
      } catch (err) {
        throw fail(err, 'get', 'cronworkflow', name);
      }
    },
    async getTemplate(name) {
      try {
        return await objects.read(ref('WorkflowTemplate', name));
      } catch (err) {
        if ((err as { code?: number }).code === 404) return null;
        throw fail(err, 'get', 'workflowtemplate', name);
      }
    },
    async annotate(name, annotations) {
      try {
        await objects.patch(
          { ...ref('CronWorkflow', name), metadata: { name, namespace, annotations } },
          undefined,
          undefined,
          'batchscore',
          undefined,
          PatchStrategy.MergePatch,
        );
      } catch (err) {
        throw fail(err, 'patch', 'cronworkflow', name);
      }
    },
  };
}
