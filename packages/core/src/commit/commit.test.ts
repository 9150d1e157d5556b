import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attemptClaimKey, commitKey, finalPartKey, manifestKey, runDir, stagedPartKey, stagingDir } from '../keys.js';
import { readJsonIfExists as readJson, toJsonText } from '../json.js';
import type { ShardCommit } from '../plan.js';
import { LocalStore } from '../store/LocalStore.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import {
  claimAttempt,
  findCommitted,
  listStaged,
  publishParts,
  readCommits,
  removeLeftoverAttempts,
  removeOrphanAttempts,
  removeStaleParts,
  writeCommit,
} from './index.js';

const run = { batchDate: '2024-01-31', modelVersion: 'v3' };
const owner = { runId: 'job-2024-01-31-v3-abc', planId: 'plan-1' };
let n = 0;
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bs-commit-'));
const fresh = () => new LocalStore(path.join(root, `s${n++}`));
const keys = async (s: ObjectStore, prefix = '') => (await s.list(prefix)).map((o) => o.key);

/** Stages `parts` parts of `bytes` bytes for one attempt and returns its commit (not written). */
async function stage(
  store: ObjectStore,
  shard: number,
  attempt: number,
  parts = 2,
  bytes = 10,
  o = owner,
): Promise<ShardCommit> {
  const files = [];
  for (let p = 0; p < parts; p++) {
    const key = stagedPartKey(run, shard, attempt, '', p);
    await store.put(key, 'x'.repeat(bytes));
    files.push({ key, rows: 1, bytes, sha256: '' });
  }
  const t = new Date(0).toISOString();
  return {
    ...o,
    shard,
    attempt,
    rowsIn: parts,
    rowsOut: parts,
    rowsQuarantined: 0,
    files,
    quarantineFiles: [],
    invalidCounts: {},
    executionProvider: 'cpu',
    startedAt: t,
    finishedAt: t,
    durationS: 0,
  };
}

describe('claimAttempt', () => {
  it(
    'takes 1, then the number after the highest attempt present, and after the committed ' +
      'attempt once claims are gone',
    async () => {
      const store = fresh();
      expect(await claimAttempt(store, run, 0, owner)).toBe(1);
      expect(await claimAttempt(store, run, 0, owner)).toBe(2);
      await store.put(attemptClaimKey(run, 0, 7), '{}');
      expect(await claimAttempt(store, run, 0, owner)).toBe(8);
      expect(await readJson(store, attemptClaimKey(run, 0, 8))).toMatchObject({ ...owner, pid: process.pid });
      // Merge published attempt 3 and removed every claim: the next attempt is 4, never 3 again.
      const other = fresh();
      await other.put(commitKey(run, 5), toJsonText(await stage(other, 5, 3)));
      await other.deleteMany(await keys(other, stagingDir(run) + 'shards/00005/attempt-'));
      expect(await keys(other)).toEqual([commitKey(run, 5)]);
      expect(await claimAttempt(other, run, 5, owner)).toBe(4);
    },
  );
});

describe('writeCommit', () => {
  it('the first attempt to commit counts; a later one gives up its parts and returns the first (skipped)', async () => {
    const store = fresh();
    const a = await stage(store, 0, 1);
    const b = await stage(store, 0, 2);
    expect(await writeCommit(store, run, a)).toEqual(a);
    const lines: string[] = [];
    expect(await writeCommit(store, run, b, { log: (l) => lines.push(l) })).toEqual({
      ...a,
      batchscoreVersion: expect.any(String),
      skipped: true,
    });
    expect(lines).toEqual(["shard 0: attempt 1 committed first; attempt 2's parts were discarded"]);
    expect((await keys(store)).filter((k) => k.includes('/attempt-002/'))).toEqual([]);
    expect(await readJson<ShardCommit>(store, commitKey(run, 0))).toMatchObject({ attempt: 1 });
  });

  it(
    "a record of this very attempt is our own (its answer lost); an earlier plan's is " +
      'replaced; force replaces any',
    async () => {
      const store = fresh();
      const a = await stage(store, 0, 1);
      await store.put(commitKey(run, 0), toJsonText(a));
      expect(await writeCommit(store, run, a)).toEqual(a);
      const old = await stage(store, 1, 1, 1, 10, { ...owner, planId: 'plan-0' });
      await store.put(commitKey(run, 1), toJsonText(old));
      const now = await stage(store, 1, 2);
      expect(await writeCommit(store, run, now)).toEqual(now);
      expect(await readJson<ShardCommit>(store, commitKey(run, 1))).toMatchObject({ planId: 'plan-1', attempt: 2 });
      const again = await stage(store, 1, 3);
      expect(await writeCommit(store, run, again, { force: true })).toEqual(again);
      expect(await readJson<ShardCommit>(store, commitKey(run, 1))).toMatchObject({ attempt: 3 });
    },
  );
});

describe('findCommitted', () => {
  it("the commit when it is this plan's and every part is there with its size", async () => {
    const store = fresh();
    const c = await stage(store, 2, 1);
    expect(await findCommitted(store, run, 2, owner)).toBeUndefined();
    await writeCommit(store, run, c);
    expect(await findCommitted(store, run, 2, owner)).toMatchObject({ attempt: 1, files: c.files });
    expect(await findCommitted(store, run, 2, { ...owner, planId: 'plan-2' })).toBeUndefined();
    await store.put(c.files[1]!.key, 'short');
    expect(await findCommitted(store, run, 2, owner)).toBeUndefined();
    await store.delete(c.files[1]!.key);
    expect(await findCommitted(store, run, 2, owner)).toBeUndefined();
  });

  it('the commit when merge has published its parts (they left staging) under a manifest of this run', async () => {
    const store = fresh();
    const c = await stage(store, 3, 1);
    await writeCommit(store, run, c);
    for (const f of c.files) await store.delete(f.key);
    expect(await findCommitted(store, run, 3, owner)).toBeUndefined();
    await store.put(manifestKey(run), JSON.stringify({ run_id: 'another-run' }));
    expect(await findCommitted(store, run, 3, owner)).toBeUndefined();
    await store.put(manifestKey(run), JSON.stringify({ run_id: owner.runId }));
    expect(await findCommitted(store, run, 3, owner)).toMatchObject({ attempt: 1, files: c.files });
    // Only its run_id is read here; the suite's teardown checks every manifest left behind against the schema.
    await store.delete(manifestKey(run));
  });
});

describe('readCommits', () => {
  it("every shard's commit, or RUN_INCOMPLETE naming the shards without one for this plan", async () => {
    const store = fresh();
    const shards = Array.from({ length: 14 }, (_, index) => ({ index, pieces: [], rows: null }));
    for (const s of [0, 2]) await writeCommit(store, run, await stage(store, s, 1, 1));
    await writeCommit(store, run, await stage(store, 3, 1, 1, 10, { ...owner, planId: 'plan-0' }));
    await expect(readCommits(store, run, { ...owner, shards }, 4)).rejects.toMatchObject({
      code: 'RUN_INCOMPLETE',
      message:
        '12 of 14 shards have not committed (00001, 00003, 00004, 00005, 00006, 00007, 00008, ' +
        '00009, 00010, 00011, …); score them, then merge again',
    });
    expect(
      (await readCommits(store, run, { ...owner, shards: [shards[0]!, shards[2]!] }, 4)).map((c) => c.shard),
    ).toEqual([0, 2]);
  });
});

describe('publishParts', () => {
  async function setUp() {
    const store = fresh();
    const c = await stage(store, 0, 1, 3);
    await writeCommit(store, run, c);
    const parts = c.files.map((f) => ({ from: f.key, to: finalPartKey(run, 0, f.key), bytes: f.bytes }));
    const staged = new Map((await listStaged(store, run)).map((o) => [o.key, o.size]));
    return { store, c, parts, staged };
  }

  it('copies each staged part to its final key and leaves the staged copy; again, it changes nothing', async () => {
    const { store, parts, staged } = await setUp();
    await publishParts(store, parts, { limit: 2, staged });
    await publishParts(store, parts, { limit: 2, staged });
    expect(await keys(store, runDir(run))).toEqual(parts.map((p) => p.to));
    expect((await listStaged(store, run)).map((o) => o.key)).toEqual(parts.map((p) => p.from));
  });

  it(
    'a staged part gone (a merge that got further removed it) counts when its final key ' + 'holds the committed size',
    async () => {
      const { store, parts, staged } = await setUp();
      await publishParts(store, parts, { limit: 2, staged });
      await store.deleteMany(parts.map((p) => p.from));
      // Gone before the listing, and gone between the listing and the copy.
      await publishParts(store, parts, { limit: 2, staged: new Map() });
      await publishParts(store, parts, { limit: 2, staged });
      await store.put(parts[2]!.to, 'short');
      await expect(publishParts(store, parts, { limit: 2, staged })).rejects.toMatchObject({
        code: 'RUN_INVALID',
        message: `${store.uriOf(parts[2]!.from)}: committed part is missing`,
      });
    },
  );

  it(
    'a staged part of another size than its commit recorded is RUN_INVALID, and nothing ' + 'is copied for it',
    async () => {
      const { store, parts, staged } = await setUp();
      const bad = new Map(staged).set(parts[1]!.from, 7);
      await expect(publishParts(store, parts, { limit: 1, staged: bad })).rejects.toMatchObject({
        code: 'RUN_INVALID',
        message: `${store.uriOf(parts[1]!.from)}: 7 bytes, but its commit recorded 10`,
      });
      expect(await keys(store, runDir(run))).toEqual([parts[0]!.to]);
    },
  );

  it('into another store: the bytes are read and written there', async () => {
    const { store, parts, staged } = await setUp();
    const elsewhere = fresh();
    await publishParts(store, parts, { limit: 2, staged, into: elsewhere });
    expect(await keys(elsewhere)).toEqual(parts.map((p) => p.to));
    expect(await keys(store, runDir(run))).toEqual([]);
  });
});

describe('clean-up', () => {
  it('removeStaleParts removes parts below the folder that are not kept, and nothing else', async () => {
    const store = fresh();
    for (const k of [
      'part-00000-0000.parquet',
      'k=v/part-00009-0000.parquet',
      'part-00001-0000.parquet',
      '_SUCCESS',
      'notes.txt',
    ])
      await store.put(runDir(run) + k, k);
    await removeStaleParts(
      store,
      runDir(run),
      new Set([runDir(run) + 'part-00000-0000.parquet']),
      /^part-.*\.parquet$/,
      4,
    );
    expect(await keys(store)).toEqual(['_SUCCESS', 'notes.txt', 'part-00000-0000.parquet'].map((k) => runDir(run) + k));
  });

  it('removeOrphanAttempts removes what was listed (and the extra keys); commit records stay', async () => {
    const store = fresh();
    await writeCommit(store, run, await stage(store, 0, 1));
    await stage(store, 0, 2);
    await store.put(`${runDir(run)}_batch_failure.json`, '{}');
    await removeOrphanAttempts(store, await listStaged(store, run), 4, [`${runDir(run)}_batch_failure.json`]);
    expect(await keys(store)).toEqual([commitKey(run, 0)]);
  });

  it('removeLeftoverAttempts removes attempts up to the published one of each shard, not later ones', async () => {
    const store = fresh();
    await writeCommit(store, run, await stage(store, 0, 2));
    await stage(store, 0, 1);
    await stage(store, 0, 3); // a score --force after the merge
    await stage(store, 1, 1);
    await store.put(attemptClaimKey(run, 1, 1), '{}');
    await removeLeftoverAttempts(
      store,
      run,
      [
        { index: 0, attempt: 2 },
        { index: 1, attempt: 1 },
      ],
      4,
    );
    expect(await keys(store, stagingDir(run))).toEqual([
      commitKey(run, 0),
      stagedPartKey(run, 0, 3, '', 0),
      stagedPartKey(run, 0, 3, '', 1),
    ]);
  });
});
