import { BatchscoreError, mark } from '@batchscore/core';
import { locateWholePlan } from '../locatePlan.js';
import { lineLog } from '../log.js';
import { loadPlanModel, scoreMeasured, type LoadOptions } from '../scoreMeasured.js';
import { onStop, stopSignal } from '../stopOnSigterm.js';
import type { FromWorker, ToWorker } from './protocol.js';

/**
 * A worker process of `run --local` (`batchscore score --serve`): one process, one model session, many shards. The
 * parent sends shard numbers one at a time and the next only after `done`, so a worker never holds two shards.
 * Start-up (WebAssembly, onnxruntime, the model) is paid once.
 */
export async function serve(
  values: { plan?: string; date?: string; 'job-json'?: string },
  positionals: string[],
  o: LoadOptions & { force: boolean },
): Promise<void> {
  const send = (m: FromWorker) => process.send?.(m);
  if (!process.send)
    throw new BatchscoreError('USAGE', '--serve is for the worker processes of `batchscore run --local`');
  // An orphaned worker (its parent killed) must not linger. The exit code stays whatever was set: main sets it and
  // tells the parent when start-up fails.
  process.on('disconnect', () => process.exit());
  const { plan, open, shard: readRecord } = await locateWholePlan(values, positionals);
  const model = await loadPlanModel(plan, open, o);
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
        const work = scoreMeasured(plan, await readRecord(m.shard), open, {
          model,
          force: o.force,
          log: lineLog(),
          signal: stopSignal(),
          onProgress: (rows) => {
            const now = Date.now();
            if (now - lastSent > 200) {
              lastSent = now;
              send({ type: 'progress', shard: m.shard, rows });
            }
          },
        });
        // SIGTERM (passed on by the pool) waits for the shard to commit the part it holds.
        const off = onStop(() =>
          work.then(
            () => undefined,
            () => undefined,
          ),
        );
        const commit = await work.finally(off);
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
