import {
  BatchscoreError,
  DEVICES,
  EXIT,
  errorMessage,
  exitCodeFor,
  mark,
  type Device,
  type PlanHeader,
  type ShardRecord,
  type StoreFactory,
} from '@batchscore/core';
import { loadModel, scoreShard, type LoadedModel, type ScoreOptions } from '@batchscore/worker';
import { reportShard } from '../observe.js';
import { choiceArg, intArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { formatOutput, outputFormat, outputOption } from '../outputFormat.js';
import { locatePlan, locateWholePlan } from '../locatePlan.js';
import { lineLog, log } from '../log.js';
import { isStopping } from '../stopOnSigterm.js';
import { scoreTarget, strideShards, worstExitCode } from '../strides.js';

export const SCORE = defineCommand({
  name: 'score',
  summary: "Scores one shard of a planned run, or a stride of shards as a Workflow's score pod does.",
  usage: [
    '(--plan URI | JOB.yaml --date YYYY-MM-DD | --job-json JSON --date YYYY-MM-DD) (--shard I | --pod I --pods P) ' +
      '[--threads T] [--device auto|cuda|cpu] [--default-device auto|cuda|cpu] [--force] [-o json|yaml]',
  ],
  description: `Scores one shard of a planned run: stages its Parquet parts and writes the shard's commit record, then
prints {"shard", "rowsIn", "rowsOut", "files", "executionProvider"} (one JSON line, or a YAML document with -o yaml).
A shard already committed for the same plan is not scored again (Argo retries and reruns are safe).
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
    force: { type: 'boolean', help: 'Rescore a shard already committed.' },
    ...outputOption(['json', 'yaml'], "Print each shard's record as JSON (the default) or YAML."),
    serve: { type: 'boolean', internal: true, help: 'A long-lived worker of run --local, taking shards over IPC.' },
  },
});

/** Messages between `run --local` and its worker processes (over the fork IPC channel). */
export type ToWorker = { type: 'shard'; shard: number } | { type: 'exit' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; shard: number; rows: number }
  | { type: 'done'; shard: number; rows: number }
  | { type: 'error'; shard: number; code: BatchscoreError['code']; message: string; retryable: boolean };

export async function scoreCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(SCORE, argv);
  const format = outputFormat(values.output, ['json', 'yaml']) ?? 'json';
  const threads = intArg('threads', values.threads, 1);
  const device = choiceArg('--device', values.device, DEVICES);
  const defaultDevice = choiceArg('--default-device', values['default-device'], DEVICES);
  const force = values.force ?? false;
  const how = {
    ...(threads ? { threads } : {}),
    ...(device ? { device } : {}),
    ...(defaultDevice ? { defaultDevice } : {}),
  };
  if (values.serve) return serve(values, positionals, { ...how, force });
  const target = scoreTarget(values);
  const { plan, open, shard: readRecord } = await locatePlan(values, positionals);
  if ('pods' in target) {
    const model = await load(plan, open, how);
    return scoreStride(plan, open, readRecord, target.pod, target.pods, { model, force }, format);
  }
  const { shard } = target;
  // The record first: a shard the plan does not have is a usage error before the model is loaded.
  const record = await readRecord(shard);
  const model = await load(plan, open, how);
  const commit = await scoreMeasured(plan, record, open, { model, force, log: lineLog() });
  if (commit.skipped)
    log().info(`shard ${shard} already committed for this plan; nothing to do (--force rescores)`, { shard });
  printCommit(shard, commit, format);
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
      const commit = await scoreMeasured(plan, await readRecord(shard), open, { ...o, log: lineLog() });
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

/**
 * Scores a shard and reports it: a structured log line and, with spec.metrics.pushgateway, the shard's metrics
 * (also on failure, as an error count). A shard skipped as already committed reports nothing new.
 */
async function scoreMeasured(
  plan: PlanHeader,
  record: ShardRecord,
  open: StoreFactory,
  o: ScoreOptions,
): Promise<Awaited<ReturnType<typeof scoreShard>>> {
  const shard = record.index;
  const batchSeconds: number[] = [];
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  try {
    const commit = await scoreShard(plan, record, open, { ...o, onBatch: (s) => batchSeconds.push(s) });
    if (commit.skipped) return commit;
    const fields = {
      shard,
      rowsIn: commit.rowsIn,
      rowsOut: commit.rowsOut,
      rowsQuarantined: commit.rowsQuarantined,
      seconds: Number(seconds().toFixed(3)),
      attempt: commit.attempt,
    };
    // Under run --local the progress bar already shows this; pods log it as the shard's record.
    (process.send ? log().debug : log().info)(
      `shard ${shard}: ${commit.rowsOut} rows scored, ${commit.rowsQuarantined} quarantined in ${fields.seconds}s`,
      fields,
    );
    await reportShard(plan.job, plan.batchDate, shard, {
      rowsIn: commit.rowsIn,
      rowsOut: commit.rowsOut,
      rowsQuarantined: commit.rowsQuarantined,
      seconds: seconds(),
      batchSeconds,
      errors: {},
    });
    return commit;
  } catch (err) {
    const code = err instanceof BatchscoreError ? err.code : 'INTERNAL';
    await reportShard(plan.job, plan.batchDate, shard, {
      rowsIn: 0,
      rowsOut: 0,
      rowsQuarantined: 0,
      seconds: seconds(),
      batchSeconds,
      errors: { [code]: 1 },
    });
    throw err;
  }
}

type LoadOptions = { threads?: number; device?: Device; defaultDevice?: Device };

function load(plan: PlanHeader, open: StoreFactory, o: LoadOptions): Promise<LoadedModel> {
  const threads = o.threads ?? plan.job.spec.worker.threads;
  return loadModel(plan.job, open, {
    expectSha256: plan.model.sha256,
    ...(threads ? { threads } : {}),
    ...(o.device ? { device: o.device } : {}),
    ...(o.defaultDevice ? { defaultDevice: o.defaultDevice } : {}),
    // Through the process's log, so that with --log-format json the CUDA fallback warning is a JSON line too.
    log: (line) => log().warn(line),
    info: (line) => log().info(line),
  });
}

/**
 * One process, one model session, many shards: the parent sends shard numbers one at a time and the next only
 * after `done`, so a worker never holds two shards. Start-up (WebAssembly, onnxruntime, the model) is paid once.
 */
async function serve(
  values: { plan?: string; date?: string; 'job-json'?: string },
  positionals: string[],
  o: LoadOptions & { force: boolean },
) {
  const send = (m: FromWorker) => process.send?.(m);
  if (!process.send)
    throw new BatchscoreError('USAGE', '--serve is for the worker processes of `batchscore run --local`');
  // An orphaned worker (its parent killed) must not linger. The exit code stays whatever was set: main sets it
  // and closes the channel when start-up fails, and the parent reads that exit.
  process.on('disconnect', () => process.exit());
  const { plan, open, shard: readRecord } = await locateWholePlan(values, positionals);
  const model = await load(plan, open, o);
  mark('model loaded');
  await new Promise<void>((resolve) => {
    process.on('message', async (m: ToWorker) => {
      if (m.type === 'exit') {
        process.removeAllListeners('message');
        resolve();
        return;
      }
      let lastSent = 0;
      try {
        const commit = await scoreMeasured(plan, await readRecord(m.shard), open, {
          model,
          force: o.force,
          log: lineLog(),
          onProgress: (rows) => {
            const now = Date.now();
            if (now - lastSent > 200) {
              lastSent = now;
              send({ type: 'progress', shard: m.shard, rows });
            }
          },
        });
        send({ type: 'done', shard: m.shard, rows: commit.rowsIn });
      } catch (err) {
        const e =
          err instanceof BatchscoreError ? err : new BatchscoreError('INTERNAL', String((err as Error)?.stack ?? err));
        send({ type: 'error', shard: m.shard, code: e.code, message: e.message, retryable: e.retryable });
      }
    });
    send({ type: 'ready' });
  });
  process.disconnect?.();
}
