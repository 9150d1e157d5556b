import {
  BatchscoreError,
  DEVICES,
  EXIT,
  errorMessage,
  exitCodeFor,
  strideShards,
  type PlanHeader,
  type ShardRecord,
  type StoreFactory,
} from '@batchscore/core';
import type { ScoreOptions, scoreShard } from '@batchscore/worker';
import { choiceArg, intArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { formatOutput, outputFormat, outputOption } from '../outputFormat.js';
import { locatePlan } from '../locatePlan.js';
import { lineLog, log } from '../log.js';
import { isStopping, onStop, setGracePeriod, stopSignal } from '../stopOnSigterm.js';
import { serve } from '../local/serve.js';
import { scoreTarget, worstExitCode } from '../scoreTarget.js';
import { loadPlanModel, scoreMeasured } from '../scoreMeasured.js';

export const SCORE = defineCommand({
  name: 'score',
  summary: "Scores one shard of a planned run, or a stride of shards as a Workflow's score pod does.",
  usage: [
    '(--plan URI | JOB.yaml --date YYYY-MM-DD | --job-json JSON --date YYYY-MM-DD) (--shard I | --pod I --pods P) ' +
      '[--threads T] [--device auto|cuda|cpu] [--default-device auto|cuda|cpu] [--grace-period S] [--force] ' +
      '[-o json|yaml]',
  ],
  description: `Scores one shard of a planned run in parts of spec.output.rowsPerPart input rows, each committed
once its Parquet files are staged, then writes the shard's commit record and prints {"shard", "rowsIn", "rowsOut",
"files", "executionProvider"} (one JSON line, or a YAML document with -o yaml). A shard already committed for the
same plan is not scored again, and one partly scored resumes after its last committed part (Argo retries and reruns
are safe). On SIGTERM it stops reading, scores the batch in flight, commits the part so far and exits 75 within
--grace-period.
--pod I --pods P scores shards I, I+P, I+2P, … in turn with the model loaded once, a record each. It goes on past a
failed shard and exits at the end with the worst code (65 when any failed permanently, else 75), so that a retry of
the pod rescores only the shards that did not commit.
A plan URI alone names no S3 endpoint: with --plan s3://… the endpoint comes from AWS_ENDPOINT_URL_S3 (or
AWS_ENDPOINT_URL); give the job (file or --job-json) to use its spec.storage.s3.
The device is --device, else the job's spec.worker.device, else --default-device, else auto (CUDA when it loads,
else CPU with a warning).`,
  options: {
    plan: { type: 'string', value: 'URI', help: "The run's plan.json, as plan prints it (what Argo pods are given)." },
    'job-json': { type: 'string', value: 'JSON', help: 'The job inline, instead of a file.' },
    date: { type: 'string', value: 'YYYY-MM-DD', help: "The run's date, with the job (default: today, UTC)." },
    shard: { type: 'string', value: 'I', help: 'The shard to score (0-based).' },
    pod: { type: 'string', value: 'I', help: 'Score the stride of pod I of --pods P: shards I, I+P, I+2P, …' },
    pods: { type: 'string', value: 'P', help: 'How many pods share the shards.' },
    threads: { type: 'string', value: 'T', help: "onnxruntime threads (default: the job's spec.worker.threads)." },
    device: { type: 'string', value: 'auto|cuda|cpu', help: "Overrides the job's spec.worker.device." },
    'default-device': {
      type: 'string',
      value: 'auto|cuda|cpu',
      help:
        "The device when the job sets none. A GPU job's score pods pass cuda: a pod that cannot load CUDA then " +
        'fails (65) rather than score on the CPU beside its GPU.',
    },
    'grace-period': {
      type: 'string',
      value: 'S',
      help:
        'Seconds SIGTERM leaves before SIGKILL (default 30): the process commits the part so far and exits 75 a few ' +
        "seconds before. Rendered score pods pass their pod's terminationGracePeriodSeconds " +
        '(spec.cluster.terminationGracePeriodSeconds).',
    },
    force: { type: 'boolean', help: 'Rescore a shard already committed (start it over).' },
    ...outputOption(['json', 'yaml'], "Print each shard's record as JSON (the default) or YAML."),
    serve: { type: 'boolean', internal: true, help: 'A long-lived worker of run --local, taking shards over IPC.' },
  },
});

export async function scoreCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(SCORE, argv);
  const format = outputFormat(values.output, ['json', 'yaml']) ?? 'json';
  const threads = intArg('threads', values.threads, 1);
  const device = choiceArg('--device', values.device, DEVICES);
  const defaultDevice = choiceArg('--default-device', values['default-device'], DEVICES);
  const force = values.force ?? false;
  const grace = intArg('grace-period', values['grace-period'], 1);
  if (grace !== undefined) setGracePeriod(grace);
  const how = {
    ...(threads ? { threads } : {}),
    ...(device ? { device } : {}),
    ...(defaultDevice ? { defaultDevice } : {}),
  };
  if (values.serve) return serve(values, positionals, { ...how, force });
  const target = scoreTarget(values);
  const { plan, open, shard: readRecord } = await locatePlan(values, positionals);
  if ('pods' in target) {
    const model = await loadPlanModel(plan, open, how);
    return untilStopped(scoreStride(plan, open, readRecord, target.pod, target.pods, { model, force }, format));
  }
  const { shard } = target;
  // The record first: a shard the plan does not have is a usage error before the model is loaded.
  const record = await readRecord(shard);
  const model = await loadPlanModel(plan, open, how);
  const commit = await untilStopped(
    scoreMeasured(plan, record, open, { model, force, log: lineLog(), signal: stopSignal() }),
  );
  if (commit.skipped)
    log().info(`shard ${shard} already committed for this plan; nothing to do (--force rescores)`, { shard });
  printCommit(shard, commit, format);
}

/**
 * The work of the command, which SIGTERM waits for once it has told it to stop (stopSignal): the part in hand is
 * committed before the process exits.
 */
async function untilStopped<T>(work: Promise<T>): Promise<T> {
  const off = onStop(() =>
    work.then(
      () => undefined,
      () => undefined,
    ),
  );
  try {
    return await work;
  } finally {
    off();
  }
}

/** A shard's record: one JSON line, or (-o yaml) a YAML document, `---` first so that a stride's parse as a stream. */
function printCommit(shard: number, commit: Awaited<ReturnType<typeof scoreShard>>, format: 'json' | 'yaml') {
  const record = {
    shard,
    rowsIn: commit.rowsIn,
    rowsOut: commit.rowsOut,
    files: commit.files.length,
    executionProvider: commit.executionProvider,
    ...(commit.skipped ? { skipped: true } : {}),
  };
  process.stdout.write((format === 'yaml' ? '---\n' : '') + formatOutput(record, format));
}

/**
 * A Workflow's score pod: the shards pod, pod + pods, … of the plan, one after another with one model session.
 * A failed shard does not stop the rest; the error at the end carries the worst exit code of the failures.
 */
async function scoreStride(
  plan: PlanHeader,
  open: StoreFactory,
  readRecord: (shard: number) => Promise<ShardRecord>,
  pod: number,
  pods: number,
  o: Pick<ScoreOptions, 'model' | 'force'>,
  format: 'json' | 'yaml',
): Promise<void> {
  const shards = strideShards(pod, pods, plan.shardCount);
  const who = `pod ${pod} of ${pods}`;
  const failed: { shard: number; err: unknown }[] = [];
  let skipped = 0;
  for (const shard of shards) {
    try {
      // SIGTERM: the pod is going away; the shard in hand commits the part so far, and no other starts.
      if (isStopping()) throw new BatchscoreError('STOPPED', `${who}: stopped by SIGTERM before shard ${shard}`);
      const commit = await scoreMeasured(plan, await readRecord(shard), open, {
        ...o,
        log: lineLog(),
        signal: stopSignal(),
      });
      if (commit.skipped) {
        skipped++;
        log().info(`shard ${shard} already committed for this plan; skipped`, { shard });
      }
      printCommit(shard, commit, format);
    } catch (err) {
      // SIGTERM: the pod is going away; its exit code is set, and a retry resumes from the committed shards.
      if (isStopping()) throw err;
      failed.push({ shard, err });
      const code = err instanceof BatchscoreError ? err.code : 'INTERNAL';
      const exitCode = exitCodeFor(err);
      log().error(
        `shard ${shard} failed, going on with the rest of ${who}'s shards: ${errorMessage(err).split('\n')[0]}`,
        { shard, code, exitCode, retryable: exitCode === EXIT.RETRYABLE },
      );
    }
  }
  const done = shards.length - failed.length;
  log().info(
    `${who}: ${shards.length} shards of ${plan.shardCount}, ${done - skipped} scored, ` +
      `${skipped} already committed, ${failed.length} failed`,
    { pod, pods, shards: shards.length, scored: done - skipped, skipped, failed: failed.length },
  );
  if (failed.length === 0) return;
  const worst = worstExitCode(failed.map((f) => f.err));
  const first = failed.find((f) => exitCodeFor(f.err) === worst)!;
  const e = first.err instanceof BatchscoreError ? first.err : undefined;
  throw new BatchscoreError(
    e?.code ?? 'INTERNAL',
    `${who}: ${failed.length} of ${shards.length} shards failed (${failed.map((f) => f.shard).join(', ')}), ` +
      `the other ${done} committed; shard ${first.shard}: ${errorMessage(first.err).split('\n')[0]}`,
    { retryable: e?.retryable ?? false, cause: first.err },
  );
}
