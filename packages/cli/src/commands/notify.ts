import { BatchscoreError, manifestKey, outputLayout, readRunState, runKeyOf } from '@batchscore/core';
import { dateArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { OUTCOME_OPTIONS } from '../outcomeOptions.js';
import { loadJob } from '../loadJob.js';
import { reportRun } from '../observe.js';
import { storeFactoryFor } from '../storeFactory.js';

export const NOTIFY = defineCommand({
  name: 'notify',
  summary: "Sends spec.notify.webhook the run's outcome (the Workflow's exit handler runs this).",
  usage: ['(JOB.yaml | --job-json JSON) --date YYYY-MM-DD --status S [--workflow NAME] [--failures JSON]'],
  description: `Sends spec.notify.webhook the run's outcome: the manifest's summary when the run is complete, else a
failure with the Workflow's status and failed nodes.`,
  options: OUTCOME_OPTIONS,
});

export async function notifyCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(NOTIFY, argv);
  const date = dateArg(values.date);
  const job = await loadJob(values, positionals);
  if (!job.spec.notify.webhook) throw new BatchscoreError('USAGE', 'the job has no spec.notify.webhook');
  const store = storeFactoryFor(job)(outputLayout(job).records);
  const key = manifestKey(runKeyOf(job, date));
  // The manifest decides, not the workflow status: a run whose exit handler failed may still be complete.
  const { manifest } = await readRunState(store, runKeyOf(job, date));
  const workflow = values.workflow ? { workflow: values.workflow } : {};
  if (manifest)
    await reportRun(
      job,
      date,
      { manifest, manifestUri: store.uriOf(key) },
      { merged: false, notify: true, ...workflow },
    );
  else {
    const failed = describeFailures(values.failures);
    const why = `workflow ${values.workflow ?? ''} ${values.status ?? 'failed'}${failed ? `: ${failed}` : ''}`.replace(
      / +/g,
      ' ',
    );
    await reportRun(
      job,
      date,
      { error: new BatchscoreError('WORKFLOW_FAILED', why.trim()) },
      { merged: false, notify: true, ...workflow },
    );
  }
}

/**
 * Argo's `{{workflow.failures}}` (a JSON list of failed nodes) as "node: message" parts. A pod's message is often
 * its last log line, a JSON object here: its `msg` is what a person wants to read.
 */
export function describeFailures(text: string | undefined): string {
  if (!text || text === 'null') return '';
  let nodes: unknown;
  try {
    nodes = JSON.parse(text);
  } catch {
    return text;
  }
  if (!Array.isArray(nodes)) return text;
  return nodes
    .map((n: { displayName?: string; templateName?: string; message?: string }) => {
      let msg = n.message ?? '';
      try {
        const logged = JSON.parse(msg) as { msg?: string; code?: string };
        if (logged.msg) msg = `${logged.code ? `[${logged.code}] ` : ''}${logged.msg}`;
      } catch {
        /* a plain message */
      }
      return `${n.displayName ?? n.templateName ?? 'node'}: ${msg}`;
    })
    .join('; ');
}
