import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attemptClaimKey, commitKey, finalPartKey, partRecordKey, runDir, stagedPartKey, stagingDir } from '../keys.js';
import { toJsonText } from '../json.js';
import type { ShardCommit } from './records.js';
import { LocalStore } from '../store/LocalStore.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import {
  listStaged,
  publishParts,
  readCommits,
  removeLeftoverAttempts,
  removeOrphanAttempts,
  removeStaleParts,
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
    parts: files.map((_, p) => ({ start: p, end: p + 1, attempt })),
  };
}

/** The shard's commit written as ShardWriter.finish writes it (with what it needs of its parts). */
const writeCommit = (store: ObjectStore, c: ShardCommit) => store.put(commitKey(run, c.shard), toJsonText(c));

describe('readCommits', () => {
  it("every shard's commit, or RUN_INCOMPLETE naming the shards without one for this plan", async () => {
    const store = fresh();
    const shards = Array.from({ length: 14 }, (_, index) => ({ index, pieces: [], rows: null }));
    for (const s of [0, 2]) await writeCommit(store, await stage(store, s, 1, 1));
    await writeCommit(store, await stage(store, 3, 1, 1, 10, { ...owner, planId: 'plan-0' }));
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
    await writeCommit(store, c);
    const parts = c.files.map((f) => ({ from: f.key, to: finalPartKey(run, 0, f.key), bytes: f.bytes }));
    const staged = new Map((await listStaged(store, run)).map((o) => [o.key, o.size]));
    return { store, c, parts, staged };
  }

  it('copies each staged part to its final key and leaves the staged copy; again, it changes nothing', async () => {
    const { store, parts, staged } = await setUp();
    await publishParts(store, parts, { limit: 2, staged, into: store });
    await publishParts(store, parts, { limit: 2, staged, into: store });
    expect(await keys(store, runDir(run))).toEqual(parts.map((p) => p.to));
    expect((await listStaged(store, run)).map((o) => o.key)).toEqual(parts.map((p) => p.from));
  });

  it(
    'a staged part gone (a merge that got further removed it) counts when its final key ' + 'holds the committed size',
    async () => {
      const { store, parts, staged } = await setUp();
      await publishParts(store, parts, { limit: 2, staged, into: store });
      await store.deleteMany(parts.map((p) => p.from));
      // Gone before the listing, and gone between the listing and the copy.
      await publishParts(store, parts, { limit: 2, staged: new Map(), into: store });
      await publishParts(store, parts, { limit: 2, staged, into: store });
      await store.put(parts[2]!.to, 'short');
      await expect(publishParts(store, parts, { limit: 2, staged, into: store })).rejects.toMatchObject({
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
      await expect(publishParts(store, parts, { limit: 1, staged: bad, into: store })).rejects.toMatchObject({
        code: 'RUN_INVALID',
        message: `${store.uriOf(parts[1]!.from)}: 7 bytes, but its commit recorded 10`,
      });
      expect(await keys(store, runDir(run))).toEqual([parts[0]!.to]);
    },
  );

  it('into another store (the table, the quarantine): copied there', async () => {
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

  it("removeOrphanAttempts removes what was listed (and the extra keys); shards' commits stay", async () => {
    const store = fresh();
    await writeCommit(store, await stage(store, 0, 1));
    await stage(store, 0, 2);
    await store.put(partRecordKey(run, 0, owner.planId, 0), '{}');
    await store.put(`${runDir(run)}_batch_failure.json`, '{}');
    await removeOrphanAttempts(store, await listStaged(store, run), 4, [`${runDir(run)}_batch_failure.json`]);
    expect(await keys(store)).toEqual([commitKey(run, 0)]);
  });

  it('removeLeftoverAttempts removes attempts up to the last published one of each shard, not later ones', async () => {
    const store = fresh();
    await writeCommit(store, await stage(store, 0, 2));
    await stage(store, 0, 1);
    await stage(store, 0, 3); // a score --force after the merge
    await stage(store, 1, 1);
    await stage(store, 1, 2); // parts of shard 1 by attempts 1 and 2, published with attempt 2 finishing it
    await store.put(attemptClaimKey(run, 1, 1), '{}');
    await store.put(partRecordKey(run, 1, owner.planId, 0), '{}');
    await removeLeftoverAttempts(
      store,
      run,
      [
        { index: 0, attempt: 2 },
        { index: 1, attempt: 1, attempts: [{ attempt: 1 }, { attempt: 2 }] },
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
