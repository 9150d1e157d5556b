import { BatchscoreError } from '@batchscore/core';
import { scoreShard } from '@batchscore/worker';
import { intArg, parse } from '../args.js';
import { locatePlan } from '../locatePlan.js';
import type { WorkerMessage } from '../runLocal.js';

export const SCORE_HELP = `batchscore score (--plan URI | JOB.yaml --date | --job-json JSON --date YYYY-MM-DD) --shard I [--threads T]
  Scores one shard of a planned run: stages its Parquet parts and writes the shard's commit record.`;

export async function scoreCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: {
    plan: { type: 'string' },
    'job-json': { type: 'string' },
    date: { type: 'string' },
    shard: { type: 'string' },
    threads: { type: 'string' },
  } });
  const shard = intArg('shard', values.shard, 0);
  if (shard === undefined) throw new BatchscoreError('USAGE', `--shard is required\n${SCORE_HELP}`);
  const threads = intArg('threads', values.threads, 1);
  const send = (m: WorkerMessage) => process.send?.(m);
  try {
    const { plan, open } = await locatePlan(values, positionals);
    let lastSent = 0;
    const commit = await scoreShard(plan, shard, open, {
      ...(threads ? { threads } : {}),
      onProgress: (rows) => {
        const now = Date.now();
        if (now - lastSent > 200) {
          lastSent = now;
          send({ type: 'progress', shard, rows });
        }
      },
    });
    send({ type: 'done', shard, rows: commit.rowsIn });
    if (!process.send) process.stdout.write(JSON.stringify({ shard, rowsIn: commit.rowsIn, rowsOut: commit.rowsOut, files: commit.files.length, executionProvider: commit.executionProvider }) + '\n');
  } catch (err) {
    if (err instanceof BatchscoreError) send({ type: 'error', shard, code: err.code, message: err.message, retryable: err.retryable });
    throw err;
  }
}
