import type * as arrow from 'apache-arrow';
import { S3Store } from '@batchscore/core/s3';
import { describe, expect, it } from 'vitest';
import { writeCustomers } from '../support/data.js';
import { startFaultProxy } from '../support/faultProxy.js';
import { clusterJob, expectExactlyOnce, useModelBucket } from './support/fixture.js';
import {
  batchscore,
  createdName,
  killPodProcesses,
  kubectl,
  newNamespace,
  ok,
  podNodes,
  waitForWorkflow,
} from './support/kube.js';

/**
 * A spot reclaim on the real engine costs a part, not a shard: a one-shard job of 1,000,000 rows written in parts of
 * 100,000 has its score pod deleted (gracefully: SIGTERM, the pod's terminationGracePeriodSeconds) half-way, and in
 * a second run its worker SIGKILLed half-way. Argo retries the pod; the retry resumes after the last committed part.
 * The output is exactly once with onnxruntime's scores, and rows_rescored is at most one part (none for the graceful
 * delete, which commits the part so far). The time from the kill to Succeeded is printed for docs/guarantees.md.
 */

const ROWS = 1_000_000;
const PART = 100_000;

const fx = useModelBucket('bs-reclaim');

describe('a reclaimed score pod resumes inside its shard', () => {
  const cases: ['delete' | 'SIGKILL', string][] = [
    ['delete', '2024-06-01'],
    ['SIGKILL', '2024-06-02'],
  ];
  it.each(cases)(
    'one shard of 1,000,000 rows, parts of 100,000, score pod %s half-way: exactly once, at most one part rescored',
    async (how, date) => {
      const ns = await newNamespace(`reclaim-${how.toLowerCase()}`);
      const prefix = `reclaim-${how.toLowerCase()}`;
      const table: arrow.Table = (await writeCustomers(fx.store, `${prefix}/in/dt=${date}/`, ROWS, ROWS, 50_000)).table;
      // Requests from the pods are slowed, so a part takes about a second to commit and half-way can be aimed at.
      const proxy = await startFaultProxy(fx.s3.endpoint, { delayMs: 250 });
      try {
        const job = await clusterJob(fx, {
          name: `credit-${prefix}`,
          prefix,
          rowsPerShard: ROWS,
          rowsPerPart: PART,
          endpoint: proxy.endpoint,
          cluster: `    serviceAccount: batchscore
    terminationGracePeriodSeconds: 20
    retries: {limit: 3, backoff: {duration: 1s, factor: 1, maxDuration: 5m}}
`,
        });
        const rendered = await ok(batchscore(['render', job, '--date', date, '-n', ns]));
        expect(rendered).toContain('terminationGracePeriodSeconds');
        const name = createdName(await ok(kubectl(['create', '-f', '-'], { input: rendered })));
        const out = new S3Store({ bucket: fx.bucket, prefix: `${prefix}/out/`, client: fx.s3.client });
        const parts = async () => (await out.list(`_batchscore/${date}/v3/shards/00000/parts/`)).length;
        const deadline = Date.now() + 300_000;
        while ((await parts()) < 5) {
          if (Date.now() > deadline) throw new Error('the shard never got half-way');
          await new Promise((r) => setTimeout(r, 100));
        }
        const killedAt = Date.now();
        if (how === 'delete') {
          const pods = await ok(
            kubectl(['-n', ns, 'get', 'pods', '-l', `workflows.argoproj.io/workflow=${name}`, '-o', 'name']),
          );
          const score = pods
            .split('\n')
            .map((p) => p.trim())
            .filter((p) => p.includes('score'));
          expect(score).toHaveLength(1);
          await ok(kubectl(['-n', ns, 'delete', score[0]!, '--wait=false']));
        } else {
          expect(killPodProcesses(/\/batchscore(\.js)? score .*--pod 0 --pods 1( |$)/).length).toBeGreaterThan(0);
        }
        const wf = await waitForWorkflow(ns, name);
        const seconds = (Date.now() - killedAt) / 1000;
        expect(wf.status?.phase, JSON.stringify(wf.status?.message)).toBe('Succeeded');
        const m = await expectExactlyOnce(fx, prefix, date, table);
        expect(m).toMatchObject({ record_count: ROWS, shard_count: 1 });
        const attempts = m.shards[0]!.attempts!;
        // The attempt reclaimed kept the parts it committed (at least half); the retry scored the rest.
        expect(attempts.map((a) => a.outcome)).toEqual([how === 'delete' ? 'stopped' : 'killed', 'finished']);
        expect(attempts[0]!.rows_kept).toBeGreaterThanOrEqual(5 * PART);
        expect(attempts[1]!.rows_kept).toBe(ROWS - attempts[0]!.rows_kept);
        expect(m.rows_rescored).toBeLessThanOrEqual(how === 'delete' ? 0 : PART);
        // The second attempt is a second pod. A SIGKILL fails the node, and Argo retries it as a node of its own;
        // a pod deleted while its node is still Running may instead be created again under the same node (seen on
        // Argo v3.7.18: one score node, two pods of one name), so there the attempts above are the count.
        expect(podNodes(wf, 'score').length).toBeGreaterThanOrEqual(how === 'delete' ? 1 : 2);
        console.log(
          `reclaim (${how}) half-way through 1,000,000 rows in parts of 100,000: ` +
            `${attempts[0]!.rows_kept} rows kept, ${m.rows_rescored} rescored, ${seconds.toFixed(1)} s from the ` +
            `kill to Succeeded`,
        );
      } finally {
        await proxy.stop();
      }
    },
  );
});
