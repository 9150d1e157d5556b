import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson } from '../../../../test/support/output.js';
import {
  attemptClaimKey,
  attemptEndKey,
  commitKey,
  manifestKey,
  partRecordKey,
  partRecordsDir,
  shardDir,
} from '../keys.js';
import { LocalStore } from '../store/LocalStore.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import { checkCommits } from './checkCommits.js';
import type { InputPosition, PartCommit, ShardCommit } from './records.js';
import { ShardWriter, type PartToWrite, type ShardWriterOptions } from './ShardWriter.js';

const run = { batchDate: '2024-01-31', modelVersion: 'v3' };
const owner = { runId: 'job-2024-01-31-v3-abc', planId: 'plan-1' };
let n = 0;
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bs-shardwriter-'));
const fresh = () => new LocalStore(path.join(root, `s${n++}`));
const keys = async (s: ObjectStore, prefix = '') => (await s.list(prefix)).map((o) => o.key);
const at = (row: number): InputPosition => ({ row, piece: 0, pieceRow: row });

/** `records`: where the run's manifest is (the store the shard is staged in, unless a test says otherwise). */
const opts = (records: ObjectStore, o: Partial<ShardWriterOptions> = {}): ShardWriterOptions => ({
  rowsPerPart: 10,
  concurrency: 2,
  records,
  ...o,
});
const open = (store: ObjectStore, o: Partial<ShardWriterOptions> = {}, who = owner) =>
  ShardWriter.open(store, run, 0, who, opts(store, o));

/** A part of rows [start, end): one data file holding them (its bytes name the writer, so copies tell apart). */
function part(start: number, end: number, tag = ''): PartToWrite {
  return {
    start: at(start),
    end: at(end),
    bytes: [
      { kind: 'data', partition: '', bytes: new TextEncoder().encode(`${tag}${start}-${end}`), rows: end - start },
    ],
    rowsOut: end - start,
    rowsQuarantined: 0,
    invalidCounts: {},
    quality: { features: {}, predictions: {} },
    executionProvider: 'cpu',
    startedAt: new Date(0),
    durationS: 1,
  };
}

const finish = (w: ShardWriter, end: number, scored: number) =>
  w.finish(at(end), { scored, executionProvider: 'cpu', startedAt: new Date(0) });

const commitOf = async (w: ShardWriter, end: number, scored: number): Promise<ShardCommit> => {
  const f = await finish(w, end, scored);
  if (!('commit' in f)) throw new Error(`expected a commit, got a resume at ${f.resume.row}`);
  return f.commit;
};

describe('ShardWriter: claim → stage a part → commit the part → commit the shard', () => {
  it(
    'takes the next attempt number after those present (one listing), ' +
      'after the committed one once claims are gone',
    async () => {
      const store = fresh();
      expect((await open(store)).attempt).toBe(1);
      expect((await open(store)).attempt).toBe(2);
      await store.put(attemptClaimKey(run, 0, 7), '{}');
      const w = await open(store);
      expect(w.attempt).toBe(8);
      expect(await readJson(store, attemptClaimKey(run, 0, 8))).toMatchObject({ ...owner, pid: process.pid, from: 0 });
      // Published and cleaned up: no claim is left, but attempt 8's parts are published; the next is 9, never 8 again.
      await w.write(part(0, 5));
      await commitOf(w, 5, 5);
      await store.put(manifestKey(run), JSON.stringify({ status: 'complete', run_id: owner.runId }));
      await store.deleteMany((await keys(store, shardDir(run, 0))).filter((k) => k.includes('/attempt-')));
      expect((await ShardWriter.open(store, run, 0, { ...owner, planId: 'plan-2' }, opts(store))).attempt).toBe(9);
      await store.delete(manifestKey(run));
    },
  );

  it("records each part's build, and names in the shard's commit the build that scored most of its rows", async () => {
    const store = fresh();
    const old = { image: 'reg/bs:1', nodeVersion: 'v22.1.0', onnxruntimeVersion: '1.29.0' };
    const now = { image: 'reg/bs:2', nodeVersion: 'v22.2.0', onnxruntimeVersion: '1.30.0' };
    const first = await open(store);
    await first.write({ ...part(0, 10), ...old });
    await first.settle();
    // The pod is reclaimed; its retry runs another image and scores the other 13 rows.
    const retry = await open(store);
    expect(retry.from).toEqual(at(10));
    await retry.write({ ...part(10, 20), ...now });
    await retry.write({ ...part(20, 23), ...now });
    const f = await retry.finish(at(23), { scored: 13, executionProvider: 'cpu', startedAt: new Date(0), build: old });
    if (!('commit' in f)) throw new Error('expected a commit');
    expect([f.commit.image, f.commit.nodeVersion, f.commit.onnxruntimeVersion]).toEqual([
      'reg/bs:2',
      'v22.2.0',
      '1.30.0',
    ]);
    const parts = await Promise.all(
      [0, 10, 20].map((r) => readJson<PartCommit>(store, partRecordKey(run, 0, owner.planId, r))),
    );
    expect(parts.map((p) => p.image)).toEqual(['reg/bs:1', 'reg/bs:2', 'reg/bs:2']);
    // A shard without rows has no part to say: the finishing attempt's build; none recorded, none named.
    const empty = await commitOf(await ShardWriter.open(fresh(), run, 0, owner, opts()), 0, 0);
    expect(Object.keys(empty)).not.toContain('image');
    const w = await ShardWriter.open(fresh(), run, 0, owner, opts());
    const g = await w.finish(at(0), { scored: 0, executionProvider: 'cpu', startedAt: new Date(0), build: now });
    if (!('commit' in g)) throw new Error('expected a commit');
    expect([g.commit.image, g.commit.nodeVersion, g.commit.onnxruntimeVersion]).toEqual([
      'reg/bs:2',
      'v22.2.0',
      '1.30.0',
    ]);
  });

  it(
    'commits each part on its own, then the shard: its parts in order, ' +
      'rows added up, one attempt, nothing rescored',
    async () => {
      const store = fresh();
      const w = await open(store);
      expect(w.from).toEqual(at(0));
      for (const [a, b] of [
        [0, 10],
        [10, 20],
        [20, 23],
      ] as const)
        expect(await w.write(part(a, b))).toEqual({});
      const c = await commitOf(w, 23, 23);
      expect(c).toMatchObject({
        ...owner,
        shard: 0,
        attempt: 1,
        rowsIn: 23,
        rowsOut: 23,
        parts: [
          { start: 0, end: 10, attempt: 1 },
          { start: 10, end: 20, attempt: 1 },
          { start: 20, end: 23, attempt: 1 },
        ],
        attempts: [{ attempt: 1, rowsScored: 23, rowsKept: 23, outcome: 'finished' }],
        rowsRescored: 0,
        durationS: 3,
      });
      expect(c.files.map((f) => f.rows)).toEqual([10, 10, 3]);
      expect(await keys(store, partRecordsDir(run, 0, owner.planId))).toEqual(
        [0, 10, 20].map((r) => partRecordKey(run, 0, owner.planId, r)),
      );
      expect(await readJson<ShardCommit>(store, commitKey(run, 0))).toMatchObject({ attempt: 1, rowsIn: 23 });
      // Opened again, the shard is done: nothing is claimed.
      const again = await open(store);
      expect([again.committed?.rowsIn, again.attempt]).toEqual([23, 0]);
      expect(() => checkCommits(planOf(23), [c], 'out/')).not.toThrow();
    },
  );

  it(
    'a killed attempt: ' +
      'the next resumes after its last committed part and keeps it; its part in flight counts whole',
    async () => {
      const store = fresh();
      const a = await open(store);
      await a.write(part(0, 10));
      await a.write(part(10, 20));
      await a.settle();
      // Killed while scoring rows 20-29: no word from it.
      const b = await open(store);
      expect([b.attempt, b.from]).toEqual([2, at(20)]);
      await b.write(part(20, 30));
      await b.write(part(30, 34));
      const c = await commitOf(b, 34, 14);
      expect(c.parts).toEqual([
        { start: 0, end: 10, attempt: 1 },
        { start: 10, end: 20, attempt: 1 },
        { start: 20, end: 30, attempt: 2 },
        { start: 30, end: 34, attempt: 2 },
      ]);
      expect(c.attempts).toEqual([
        { attempt: 1, rowsScored: 30, rowsKept: 20, outcome: 'killed' },
        { attempt: 2, rowsScored: 14, rowsKept: 14, outcome: 'finished' },
      ]);
      expect(c.rowsRescored).toBe(10);
      expect(() => checkCommits(planOf(34), [c], 'out/')).not.toThrow();
    },
  );

  it(
    'SIGTERM: the part so far is committed where it stopped; ' +
      'the next attempt goes on from there, nothing rescored',
    async () => {
      const store = fresh();
      const a = await open(store);
      await a.write(part(0, 10));
      await a.write(part(10, 14)); // stopped at row 14, mid-part
      await a.abandon('stopped', 14);
      expect(await readJson(store, attemptEndKey(run, 0, 1))).toMatchObject({ rowsScored: 14, outcome: 'stopped' });
      const b = await open(store);
      expect(b.from).toEqual(at(14));
      await b.write(part(14, 20)); // to the next part boundary, where every attempt cuts
      await b.write(part(20, 25));
      const c = await commitOf(b, 25, 11);
      expect(c.parts!.map((p) => [p.start, p.end, p.attempt])).toEqual([
        [0, 10, 1],
        [10, 14, 1],
        [14, 20, 2],
        [20, 25, 2],
      ]);
      expect(c.attempts).toEqual([
        { attempt: 1, rowsScored: 14, rowsKept: 14, outcome: 'stopped' },
        { attempt: 2, rowsScored: 11, rowsKept: 11, outcome: 'finished' },
      ]);
      expect(c.rowsRescored).toBe(0);
    },
  );

  it(
    'two live attempts: of the same rows one part counts; ' +
      'the other removes its files and reads on after the committed parts',
    async () => {
      const store = fresh();
      const lines: string[] = [];
      const a = await open(store);
      const b = await open(store, { log: (l) => lines.push(l) });
      await a.write(part(0, 10, 'a'));
      await a.write(part(10, 20, 'a'));
      await a.settle();
      // b scored rows 0-9 too, and hands over 10-19 while 0-9 is settled: 0-9 was lost, and 10-19 is a's as well.
      expect(await b.write(part(0, 10, 'b'))).toEqual({});
      expect(await b.write(part(10, 20, 'b'))).toEqual({ resume: at(20) });
      expect(lines).toEqual(["shard 0: attempt 1 committed rows 0-9 first; attempt 2's part was discarded"]);
      // b's files of rows 0-9 are gone; its 10-19 was never uploaded.
      expect((await keys(store, shardDir(run, 0))).filter((k) => k.includes('/attempt-002/part-'))).toEqual([]);
      await b.write(part(20, 26, 'b'));
      const c = await commitOf(b, 26, 26);
      expect(c.parts!.map((p) => p.attempt)).toEqual([1, 1, 2]);
      // a, still running when b finished, has said nothing: counted as killed, its next part (up to the shard's end)
      // whole.
      expect(c.attempts).toEqual([
        { attempt: 1, rowsScored: 26, rowsKept: 20, outcome: 'killed' },
        { attempt: 2, rowsScored: 26, rowsKept: 6, outcome: 'finished' },
      ]);
      // a, still alive, finds the shard done when it gets to the end, with b's commit.
      await a.write(part(20, 26, 'a'));
      const f = await finish(a, 26, 26);
      expect(f).toEqual({ resume: at(26) });
      expect((await readJson<ShardCommit>(store, commitKey(run, 0))).attempt).toBe(2);
    },
  );

  it(
    'a part lost while the next is in hand: ' + 'that one is kept when it starts where the committed parts end',
    async () => {
      const store = fresh();
      const a = await open(store);
      const b = await open(store);
      await a.write(part(0, 10, 'a'));
      await a.settle();
      await b.write(part(0, 10, 'b'));
      // 0-9 lost to a, but 10-19 starts where a's part ends: it goes ahead.
      expect(await b.write(part(10, 20, 'b'))).toEqual({});
      const c = await commitOf(b, 20, 20);
      expect(c.parts!.map((p) => [p.start, p.attempt])).toEqual([
        [0, 1],
        [10, 2],
      ]);
    },
  );

  it('a record of this very attempt is its own (the store took the write, its answer lost)', async () => {
    const store = fresh();
    const w = await open(store);
    const lossy: ObjectStore = Object.create(store);
    let dropped = false;
    lossy.putIfAbsent = async (key, body) => {
      const created = await store.putIfAbsent(key, body);
      if (!dropped && key.includes('/parts/')) {
        dropped = true;
        return false; // created, but the answer never came: the retry found it there
      }
      return created;
    };
    const w2 = await ShardWriter.open(lossy, run, 0, owner, opts(lossy));
    await w2.write(part(0, 10));
    expect(await w2.settle()).toEqual({});
    expect(dropped).toBe(true);
    expect((await commitOf(w2, 10, 10)).parts).toEqual([{ start: 0, end: 10, attempt: w2.attempt }]);
    expect(w.attempt).toBe(1);
  });

  it(
    'a failed attempt: ' +
      'its uncommitted files go (unless leavePartsOnError), its committed parts stay, its end is recorded',
    async () => {
      for (const leave of [false, true]) {
        const store = fresh();
        const failing: ObjectStore = Object.create(store);
        failing.putIfAbsent = async (key, body) => {
          if (key.endsWith('0000000010.json')) throw new Error('the store went away');
          return store.putIfAbsent(key, body);
        };
        const w = await ShardWriter.open(failing, run, 0, owner, opts(failing, { leavePartsOnError: leave }));
        await w.write(part(0, 10));
        await w.write(part(10, 20));
        await expect(w.settle()).rejects.toThrow('the store went away');
        await w.abandon('failed', 20);
        const staged = (await keys(store, shardDir(run, 0))).filter((k) => k.includes('/attempt-001/part-'));
        expect(staged.map((k) => k.replace(/.*part-00000-/, ''))).toEqual(
          leave ? ['0000000000.parquet.staged', '0000000010.parquet.staged'] : ['0000000000.parquet.staged'],
        );
        expect(await readJson(store, attemptEndKey(run, 0, 1))).toMatchObject({ rowsScored: 20, outcome: 'failed' });
        const next = await open(store);
        expect(next.from).toEqual(at(10));
      }
    },
  );

  it('force starts the shard over; a commit whose parts are gone, or of another plan, is replaced', async () => {
    const store = fresh();
    const a = await open(store);
    await a.write(part(0, 10));
    await commitOf(a, 10, 10);
    const forced = await open(store, { force: true });
    expect([forced.committed, forced.from]).toEqual([undefined, at(0)]);
    expect(await keys(store, partRecordsDir(run, 0, owner.planId))).toEqual([]);
    await forced.write(part(0, 10));
    expect((await commitOf(forced, 10, 10)).attempts).toEqual([
      { attempt: 2, rowsScored: 10, rowsKept: 10, outcome: 'finished' },
    ]);
    // The parts' files removed by hand: the commit is not whole, the records go, and the shard is scored again.
    await store.deleteMany((await keys(store, shardDir(run, 0))).filter((k) => k.includes('/attempt-002/part-')));
    const b = await open(store);
    expect([b.committed, b.from]).toEqual([undefined, at(0)]);
    await b.write(part(0, 10));
    expect((await commitOf(b, 10, 10)).attempt).toBe(3);
    // Another plan's commit (the input changed): replaced.
    const other = { ...owner, planId: 'plan-2' };
    const c = await ShardWriter.open(store, run, 0, other, opts(store));
    expect(c.committed).toBeUndefined();
    await c.write(part(0, 12));
    expect(await readJson(store, commitKey(run, 0))).toMatchObject({ planId: 'plan-1' });
    expect((await commitOf(c, 12, 12)).planId).toBe('plan-2');
    expect(await readJson(store, commitKey(run, 0))).toMatchObject({ planId: 'plan-2', rowsIn: 12 });
  });

  it(
    'a' + ' commit whose parts left staging counts when a manifest of this run is there (merge published them)',
    async () => {
      const store = fresh();
      const w = await open(store);
      await w.write(part(0, 10));
      await commitOf(w, 10, 10);
      await store.deleteMany((await keys(store, shardDir(run, 0))).filter((k) => k.includes('/attempt-')));
      await store.put(manifestKey(run), JSON.stringify({ status: 'complete', run_id: 'another-run' }));
      expect((await open(store)).committed).toBeUndefined();
      await store.put(manifestKey(run), JSON.stringify({ status: 'complete', run_id: owner.runId }));
      expect((await open(store)).committed?.rowsIn).toBe(10);
      await store.delete(manifestKey(run));
    },
  );

  it('with the records elsewhere (spec.output.bookkeepingUri), the manifest is looked for there', async () => {
    const books = fresh();
    const records = fresh();
    const w = await open(books, { records });
    await w.write(part(0, 10));
    await commitOf(w, 10, 10);
    await books.deleteMany((await keys(books, shardDir(run, 0))).filter((k) => k.includes('/attempt-')));
    // A manifest in the staging store is not this layout's: the shard is scored again.
    await books.put(manifestKey(run), JSON.stringify({ status: 'complete', run_id: owner.runId }));
    expect((await open(books, { records })).committed).toBeUndefined();
    await books.delete(manifestKey(run));
    await records.put(manifestKey(run), JSON.stringify({ status: 'complete', run_id: owner.runId }));
    expect((await open(books, { records })).committed?.rowsIn).toBe(10);
    await records.delete(manifestKey(run));
  });
});

/** The plan checkCommits needs for one shard of `rows` rows. */
const planOf = (rows: number) => ({ totalRows: rows, shards: [{ index: 0, pieces: [], rows }] }) as never;

/** A small deterministic generator, so that a failure names a seed that reproduces it. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (k: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % k;
  };
}

class Killed extends Error {}

/**
 * One attempt as the worker drives it: reads rows from where the writer says in batches (never across a part
 * boundary), hands a part over at each boundary, resumes where the writer says when outrun. It may be killed (it just
 * stops: no word, a part maybe in flight) or stopped (SIGTERM: the part so far is committed) after `until` rows.
 */
async function attempt(
  store: ObjectStore,
  rows: number,
  rowsPerPart: number,
  r: (k: number) => number,
  end: { until: number; how: 'kill' | 'stop' } | undefined,
): Promise<ShardCommit | 'killed' | 'stopped'> {
  const w = await ShardWriter.open(store, run, 0, owner, opts(store, { rowsPerPart }));
  if (w.committed) return w.committed;
  let scored = 0;
  let from = w.from;
  for (;;) {
    let start = from.row;
    let pos = from.row;
    let resumed: InputPosition | undefined;
    while (pos < rows && !resumed) {
      const room = (Math.floor(pos / rowsPerPart) + 1) * rowsPerPart - pos;
      const k = Math.min(1 + r(rowsPerPart), room, rows - pos);
      pos += k;
      scored += k;
      await new Promise((res) => setImmediate(res));
      const stopping = end !== undefined && scored >= end.until;
      if (stopping && end.how === 'kill') {
        // As after a SIGKILL: the request in flight lands or not, and nothing more comes from this attempt.
        await w.settle().catch(() => undefined);
        throw new Killed();
      }
      if (pos % rowsPerPart === 0 || pos === rows || stopping) {
        const o = await w.write(part(start, pos));
        if (o.resume) resumed = o.resume;
        else start = pos;
      }
      if (stopping && !resumed) {
        await w.settle();
        await w.abandon('stopped', scored);
        return 'stopped';
      }
    }
    if (resumed) {
      from = resumed;
      continue;
    }
    const f = await finish(w, rows, scored);
    if ('commit' in f) return f.commit;
    from = f.resume;
  }
}

describe('ShardWriter, generatively: attempts killed, stopped and racing at random points', () => {
  async function scenario(seed: number, most: number) {
    const r = rng(seed);
    const store = fresh();
    const rows = 1 + r(120);
    const rowsPerPart = 1 + r(25);
    let kills = 0;
    let commit: ShardCommit | undefined;
    for (let wave = 0; !commit; wave++) {
      // 1 to `most` attempts at once; until the last waves, some are killed or stopped part-way.
      const size = 1 + r(most);
      const outcomes = await Promise.all(
        Array.from({ length: size }, () => {
          const how = r(2) ? ('kill' as const) : ('stop' as const);
          const ends = wave < 6 && r(3) > 0 ? { until: 1 + r(rows), how } : undefined;
          return attempt(store, rows, rowsPerPart, r, ends).catch((e: unknown) => {
            if (e instanceof Killed) return 'killed' as const;
            throw e;
          });
        }),
      );
      kills += outcomes.filter((o) => o === 'killed').length;
      commit = outcomes.find((o): o is ShardCommit => typeof o === 'object');
    }
    // Exactly once: the parts run 0..rows without gap or overlap, each file of one part from that part's attempt.
    expect(() => checkCommits(planOf(rows), [commit], 'out/')).not.toThrow();
    expect(commit.rowsIn).toBe(rows);
    expect((await readJson<ShardCommit>(store, commitKey(run, 0))).parts).toEqual(commit.parts);
    // Each file holds the rows its part names, and the part's record names the same attempt and end.
    for (const [i, p] of commit.parts!.entries()) {
      expect(new TextDecoder().decode(await store.get(commit.files[i]!.key))).toBe(`${p.start}-${p.end}`);
      expect(await readJson<PartCommit>(store, partRecordKey(run, 0, owner.planId, p.start))).toMatchObject({
        attempt: p.attempt,
        end: { row: p.end },
      });
    }
    const attempts = commit.attempts!;
    expect(attempts.reduce((k, a) => k + a.rowsKept, 0)).toBe(rows);
    for (const a of attempts) expect(a.rowsScored).toBeGreaterThanOrEqual(a.rowsKept);
    expect(attempts.reduce((k, a) => k + a.rowsScored - a.rowsKept, 0)).toBe(commit.rowsRescored);
    return { commit, kills, rowsPerPart };
  }

  it.each(Array.from({ length: 30 }, (_, i) => i + 1))(
    'seed %i, one attempt at a time: exactly once, a stop costs nothing, a kill at most one part',
    async (seed) => {
      const { commit, kills, rowsPerPart } = await scenario(seed, 1);
      expect(commit.rowsRescored).toBeLessThanOrEqual(kills * rowsPerPart);
      expect(commit.attempts!.filter((a) => a.outcome === 'stopped').every((a) => a.rowsScored === a.rowsKept)).toBe(
        true,
      );
    },
  );

  it.each(Array.from({ length: 30 }, (_, i) => i + 101))(
    'seed %i, up to three attempts at once: exactly once, every row kept once',
    async (seed) => {
      const { commit } = await scenario(seed, 3);
      expect(commit.attempts!.filter((a) => a.outcome === 'finished').length).toBeGreaterThanOrEqual(1);
    },
  );
});
