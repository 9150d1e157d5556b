import { hostname } from 'node:os';
import { BatchscoreError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { readJsonIfExists, toJsonText } from '../json.js';
import {
  ATTEMPT_DIGITS,
  attemptClaimKey,
  attemptEndKey,
  commitKey,
  partRecordKey,
  partRecordsDir,
  shardDir,
  stagedPartKey,
  type PartKind,
} from '../keys.js';
import { mapLimit } from '../mapLimit.js';
import type { ObjectInfo, ObjectStore } from '../store/ObjectStore.js';
import { BATCHSCORE_VERSION } from '../version.js';
import { attemptRows, followParts, resumePosition, toShardCommit, type AttemptSeen, type Build } from './chain.js';
import {
  ownedBy,
  START_OF_SHARD,
  type AttemptClaim,
  type AttemptEnd,
  type AttemptOutcome,
  type CommitOwner,
  type InputPosition,
  type PartCommit,
  type PartFile,
  type PartTotals,
  type ShardCommit,
} from './records.js';
import type { RunKey } from './runKey.js';
import { publishedBy, readRunState } from './state.js';

export interface ShardWriterOptions {
  /** Input rows per part (spec.output.rowsPerPart): parts end at multiples of it, for every attempt alike. */
  rowsPerPart: number;
  /** Start the shard over: its commit and this plan's part records are removed first (score --force). */
  force?: boolean;
  /**
   * Leave the files staged for a part that was not committed when the attempt fails (for a post-mortem), instead
   * of removing them (as lib-storage's leavePartsOnError). Committed parts always stay: a retry resumes after them.
   * Whatever is left, merge removes once the run is published.
   */
  leavePartsOnError?: boolean;
  /** Storage requests in flight at most (one part's files, the records read on resuming). */
  concurrency: number;
  /**
   * Where the run's manifest is (outputLayout's records: the table, or spec.output.bookkeepingUri), not the store
   * the shard is staged in (the bookkeeping): a commit whose parts left staging counts when this run's manifest is
   * there.
   */
  records: ObjectStore;
  log?: (line: string) => void;
}

/** One file of a part, encoded, to stage: data (below its partition folders) or quarantined rows. */
export interface PartBytes {
  kind: PartKind;
  /** `k=v/…` folders of a data file; '' without partitionBy and for quarantined rows. */
  partition: string;
  bytes: Uint8Array;
  rows: number;
}

/** A part as the worker hands it over: its input range, its files and what its rows came to. */
export interface PartToWrite extends Omit<PartTotals, 'files' | 'quarantineFiles'> {
  start: InputPosition;
  end: InputPosition;
  bytes: PartBytes[];
  startedAt: Date;
  durationS: number;
}

/** After a part is handed over: go on, or read again from `resume` (another attempt committed what this one held). */
export type WriteOutcome = { resume?: InputPosition };

/**
 * One attempt at one shard: claim an attempt number → stage each part's files → commit the part (an exclusive
 * create of its record, once its files are durable) → once the parts reach the end of the shard's input, commit the
 * shard. A part is uploaded and committed while the next is scored, one at a time, so memory stays bounded.
 *
 * Parts are cut at the same input rows by every attempt (multiples of rowsPerPart, or where an attempt stopped on
 * SIGTERM), and committed by first row, so of two attempts at the same rows exactly one counts: the other deletes
 * its files and reads on from where the committed parts end. A retried attempt (another pod, another node) starts
 * after the last committed part, whichever attempt wrote it, so a reclaim costs the part in flight, not the shard.
 */
export class ShardWriter {
  /** The shard's commit, when it is done for this plan: nothing is left to score. */
  readonly committed: ShardCommit | undefined;
  /** Where this attempt starts reading: the end of the committed parts. */
  readonly from: InputPosition;
  /** This attempt's number (0 when the shard was already committed: nothing is claimed). */
  readonly attempt: number;

  /** This plan's committed parts, by first row: read on opening, and again when another attempt outran this one. */
  private readonly parts = new Map<number, PartCommit>();
  /** Attempts other than this one, seen in the shard's folder or in its parts. */
  private readonly others = new Set<number>();
  private inFlight: Promise<PartCommit | { lost: PartCommit; mine: PartToWrite }> | undefined;
  /** Files staged for a part whose record is not (yet) written: removed if the attempt fails. */
  private readonly uncommitted = new Set<string>();
  private replaceCommit = false;
  /** Attempts below this one are not counted (they scored the shard before a `score --force` started it over). */
  private countFrom = 0;

  private constructor(
    private readonly store: ObjectStore,
    private readonly run: RunKey,
    private readonly shard: number,
    private readonly owner: CommitOwner,
    private readonly opts: ShardWriterOptions,
    state: { committed?: ShardCommit; from: InputPosition; attempt: number },
  ) {
    this.committed = state.committed;
    this.from = state.from;
    this.attempt = state.attempt;
  }

  /**
   * Opens the shard for a new attempt with one listing of its folder: its commit (when there is one and it is whole,
   * the shard is done), this plan's committed parts (the attempt resumes after them) and the attempt numbers taken
   * (this one takes the next by exclusive create).
   */
  static async open(
    store: ObjectStore,
    run: RunKey,
    shard: number,
    owner: CommitOwner,
    opts: ShardWriterOptions,
  ): Promise<ShardWriter> {
    const listed = await store.list(shardDir(run, shard));
    const sizes = new Map(listed.map((o) => [o.key, o.size]));
    const partKeys = listed.filter((o) => o.key.startsWith(partRecordsDir(run, shard, owner.planId)));
    if (opts.force) {
      // Only this shard's records go: the staged files stay until merge removes them with the rest.
      await store.deleteMany([commitKey(run, shard), ...partKeys.map((o) => o.key)]);
      const w = await ShardWriter.claim(store, run, shard, owner, opts, listed, new Map(), false, 0);
      w.countFrom = w.attempt;
      w.others.clear();
      return w;
    }
    let replaceCommit = false;
    let committedAttempt = 0;
    if (sizes.has(commitKey(run, shard))) {
      const c = await readJsonIfExists<ShardCommit>(store, commitKey(run, shard));
      if (c && ownedBy(c, owner)) {
        if (await isWhole(opts.records, run, c, sizes, owner)) {
          return new ShardWriter(store, run, shard, owner, opts, { committed: c, from: START_OF_SHARD, attempt: 0 });
        }
        replaceCommit = true; // its parts are gone: scored again, and this attempt's commit replaces it
      } else replaceCommit = c !== undefined; // another plan's: the input or the spec changed since
      committedAttempt = c?.attempt ?? 0;
    }
    const parts = await readParts(store, partKeys, sizes, opts);
    return ShardWriter.claim(store, run, shard, owner, opts, listed, parts, replaceCommit, committedAttempt);
  }

  private static async claim(
    store: ObjectStore,
    run: RunKey,
    shard: number,
    owner: CommitOwner,
    opts: ShardWriterOptions,
    listed: ObjectInfo[],
    parts: Map<number, PartCommit>,
    replaceCommit: boolean,
    committedAttempt: number,
  ): Promise<ShardWriter> {
    const from = resumePosition(parts, START_OF_SHARD);
    const taken = new Set<number>();
    for (const o of listed) {
      const m = /\/attempt-(\d+)\//.exec(o.key);
      if (m) taken.add(Number(m[1]));
    }
    for (const p of parts.values()) taken.add(p.attempt);
    // The attempt numbers of a commit's parts stay taken once merge removed their folders: an attempt that took one
    // again would pass for it.
    const highest = Math.max(committedAttempt, ...taken);
    const claim: AttemptClaim = {
      runId: owner.runId,
      planId: owner.planId,
      pid: process.pid,
      host: hostname(),
      at: new Date().toISOString(),
      from: from.row,
    };
    for (let n = highest + 1; n < 10 ** ATTEMPT_DIGITS; n++) {
      if (await store.putIfAbsent(attemptClaimKey(run, shard, n), toJsonText(claim))) {
        const w = new ShardWriter(store, run, shard, owner, opts, { from, attempt: n });
        for (const [k, p] of parts) w.parts.set(k, p);
        for (const a of taken) w.others.add(a);
        w.replaceCommit = replaceCommit;
        return w;
      }
    }
    throw new BatchscoreError(
      'INTERNAL',
      `shard ${shard}: every attempt number up to ${10 ** ATTEMPT_DIGITS - 1} is taken; ` +
        `remove ${store.uriOf(shardDir(run, shard))}`,
    );
  }

  /** Rows quarantined in the committed parts before `row` (the shard's earlier parts, from earlier attempts). */
  quarantinedBefore(row: number): number {
    return followParts(this.parts, 0)
      .filter((p) => p.end.row <= row)
      .reduce((n, p) => n + p.rowsQuarantined, 0);
  }

  /**
   * Hands a part over: its files are staged and its record created in the background while the next part is scored.
   * Resolves once the part before it is settled; if another attempt had committed that one's rows, this part is
   * dropped too unless it starts exactly where the committed parts now end, and `resume` says where to read from.
   */
  async write(part: PartToWrite): Promise<WriteOutcome> {
    const settled = await this.settle();
    if (settled.resume && settled.resume.row !== part.start.row) return settled;
    const upload = this.upload(part);
    // A failed upload surfaces at the next settle, not as an unhandled rejection meanwhile.
    upload.catch(() => {});
    this.inFlight = upload;
    return {};
  }

  /**
   * Waits for the part in flight to be committed. `resume`: another attempt committed its rows first (its files are
   * removed): read again from where the committed parts end.
   */
  async settle(): Promise<WriteOutcome> {
    const p = this.inFlight;
    this.inFlight = undefined;
    if (!p) return {};
    const done = await p;
    if (!('lost' in done)) return {};
    this.opts.log?.(
      `shard ${this.shard}: attempt ${done.lost.attempt} committed rows ${done.lost.start.row}-` +
        `${done.lost.end.row - 1} first; attempt ${this.attempt}'s part was discarded`,
    );
    await this.refresh();
    return { resume: resumePosition(this.parts, done.mine.start) };
  }

  /**
   * The input is read to `end`: once the last part is committed, writes the shard's commit, its parts in input order.
   * `resume` when another attempt committed the last part's rows first. `scored`: rows this attempt scored.
   */
  async finish(
    end: InputPosition,
    o: { scored: number; executionProvider: string; batchSize?: number; startedAt: Date; build?: Build },
  ): Promise<{ commit: ShardCommit } | { resume: InputPosition }> {
    const settled = await this.settle();
    if (settled.resume) return { resume: settled.resume };
    let chain = followParts(this.parts, 0);
    if ((chain.at(-1)?.end.row ?? 0) !== end.row) {
      await this.refresh();
      chain = followParts(this.parts, 0);
    }
    const rowsIn = chain.at(-1)?.end.row ?? 0;
    if (rowsIn !== end.row) {
      throw new BatchscoreError(
        'INTERNAL',
        `shard ${this.shard}: its committed parts cover rows 0-${rowsIn - 1}, but its input ends at row ${end.row}`,
      );
    }
    for (const p of chain) if (p.attempt !== this.attempt) this.others.add(p.attempt);
    const seen = await this.attempts(o.scored);
    const { attempts, rowsRescored } = attemptRows(seen, chain, {
      finisher: this.attempt,
      rowsIn,
      rowsPerPart: this.opts.rowsPerPart,
    });
    const commit = toShardCommit(this.owner, this.shard, chain, {
      attempt: this.attempt,
      attempts,
      rowsRescored,
      finishedAt: new Date(),
      startedAt: o.startedAt,
      executionProvider: o.executionProvider,
      ...(o.batchSize ? { batchSize: o.batchSize } : {}),
      ...(o.build ? { build: o.build } : {}),
    });
    const key = commitKey(this.run, this.shard);
    const body = toJsonText({ ...commit, batchscoreVersion: BATCHSCORE_VERSION });
    if (this.replaceCommit) await this.store.put(key, body);
    else if (!(await this.store.putIfAbsent(key, body))) {
      const other = await readJsonIfExists<ShardCommit>(this.store, key);
      // Another attempt got to the end first: the same parts (records are never rewritten), its commit counts.
      if (other && ownedBy(other, this.owner)) return { commit: other };
      await this.store.put(key, body); // an earlier plan's, written since this attempt opened the shard
    }
    return { commit };
  }

  /**
   * The attempt ends without finishing the shard (SIGTERM, an error): the part in flight is waited for, files staged
   * for a part left uncommitted are removed (unless leavePartsOnError), and the attempt's end is recorded with the
   * rows it scored, so that the shard's commit can say what was scored again. Best effort: the store may be what
   * failed.
   */
  async abandon(outcome: Exclude<AttemptOutcome, 'finished' | 'killed'>, scored: number): Promise<void> {
    try {
      await this.settle();
    } catch {
      // The upload that failed is what ends the attempt; its files are among the uncommitted.
    }
    try {
      if (!this.opts.leavePartsOnError && this.uncommitted.size > 0) await this.store.deleteMany([...this.uncommitted]);
      const end: AttemptEnd = { ...this.owner, rowsScored: scored, outcome, at: new Date().toISOString() };
      await this.store.put(attemptEndKey(this.run, this.shard, this.attempt), toJsonText(end));
    } catch {
      // Nothing else is lost: merge removes what is left, and the commit then counts this attempt's last part whole.
    }
  }

  private async upload(part: PartToWrite): Promise<PartCommit | { lost: PartCommit; mine: PartToWrite }> {
    const files: PartFile[] = [];
    const quarantineFiles: PartFile[] = [];
    const staged = part.bytes.map((b) => ({
      ...b,
      key: stagedPartKey(this.run, this.shard, this.attempt, b.partition, part.start.row, b.kind),
    }));
    for (const f of staged) this.uncommitted.add(f.key);
    await mapLimit(staged, this.opts.concurrency, (f) => this.store.put(f.key, f.bytes));
    for (const f of staged) {
      // The manifest's checksum of each file: SHA-256 of its bytes, the same whichever store or reader.
      const file = { key: f.key, rows: f.rows, bytes: f.bytes.length, sha256: sha256Hex(f.bytes) };
      (f.kind === 'data' ? files : quarantineFiles).push(file);
    }
    const { bytes: _bytes, startedAt, ...totals } = part;
    const record: PartCommit = {
      ...this.owner,
      shard: this.shard,
      attempt: this.attempt,
      ...totals,
      files,
      quarantineFiles,
      startedAt: startedAt.toISOString(),
    };
    const key = partRecordKey(this.run, this.shard, this.owner.planId, part.start.row);
    let other: PartCommit | undefined;
    // A record that was there and is gone again (a `score --force` of the shard meanwhile) is created again.
    for (let tries = 0; !other && tries < 3; tries++) {
      if (await this.store.putIfAbsent(key, toJsonText(record))) other = record;
      else other = await readJsonIfExists<PartCommit>(this.store, key);
    }
    // Our own, when the store could not tell us it took our write (its answer lost, the retry refused).
    if (!other) throw new BatchscoreError('STORE_TRANSIENT', `${this.store.uriOf(key)}: neither created nor readable`);
    if (other.attempt === this.attempt) {
      for (const f of staged) this.uncommitted.delete(f.key);
      this.parts.set(part.start.row, record);
      return record;
    }
    await this.store.deleteMany(staged.map((f) => f.key));
    for (const f of staged) this.uncommitted.delete(f.key);
    this.parts.set(other.start.row, other);
    this.others.add(other.attempt);
    return { lost: other, mine: part };
  }

  /** Reads the part records this attempt does not know yet (another attempt's, committed since it opened the shard). */
  private async refresh(): Promise<void> {
    const listed = await this.store.list(partRecordsDir(this.run, this.shard, this.owner.planId));
    const known = new Set(
      [...this.parts.values()].map((p) => partRecordKey(this.run, this.shard, this.owner.planId, p.start.row)),
    );
    const fresh = listed.filter((o) => !known.has(o.key));
    await mapLimit(fresh, this.opts.concurrency, async (o) => {
      const p = await readJsonIfExists<PartCommit>(this.store, o.key);
      if (p) this.parts.set(p.start.row, p);
    });
  }

  /** Every attempt at the shard: this one, and (when there were others) what their claims and end records say. */
  private async attempts(scored: number): Promise<AttemptSeen[]> {
    const me: AttemptSeen = { attempt: this.attempt, scored };
    if (this.others.size === 0) return [me];
    const listed = await this.store.list(shardDir(this.run, this.shard));
    const numbers = new Set(this.others);
    for (const o of listed) {
      const m = /\/attempt-(\d+)\/_claim\.json$/.exec(o.key);
      if (m) numbers.add(Number(m[1]));
    }
    numbers.delete(this.attempt);
    for (const n of numbers) if (n < this.countFrom) numbers.delete(n);
    const has = new Set(listed.map((o) => o.key));
    const seen: AttemptSeen[] = [];
    await mapLimit([...numbers], this.opts.concurrency, async (attempt) => {
      const claimKey = attemptClaimKey(this.run, this.shard, attempt);
      const endKey = attemptEndKey(this.run, this.shard, attempt);
      const [claim, end] = await Promise.all([
        has.has(claimKey) ? readJsonIfExists<AttemptClaim>(this.store, claimKey) : undefined,
        has.has(endKey) ? readJsonIfExists<AttemptEnd>(this.store, endKey) : undefined,
      ]);
      // Another plan's attempts scored other rows: not this plan's cost.
      if (claim && !ownedBy(claim, this.owner)) return;
      seen.push({ attempt, ...(claim ? { claim } : {}), ...(end && ownedBy(end, this.owner) ? { end } : {}) });
    });
    return [me, ...seen];
  }
}

/**
 * A commit's parts are there with the sizes it recorded (one listing, no HEAD each), or published: parts leave
 * staging once merge has published them under this run's manifest (a pod retried after the merge, a rerun of a
 * complete run's stage); without that check such a shard was scored again for nothing.
 */
async function isWhole(
  records: ObjectStore,
  run: RunKey,
  c: ShardCommit,
  sizes: ReadonlyMap<string, number>,
  owner: CommitOwner,
): Promise<boolean> {
  const files = [...c.files, ...(c.quarantineFiles ?? [])];
  if (files.every((f) => sizes.get(f.key) === f.bytes)) return true;
  const { manifest } = await readRunState(records, run);
  return publishedBy(manifest, owner.runId) === 'this run';
}

/**
 * This plan's part records, by first row. A record whose files are gone (staging cleaned by hand or by a lifecycle
 * rule) is removed, after a HEAD of each missing file (the listing may have caught a record written after its files
 * were listed), and its rows are scored again: resuming after it would publish nothing for them.
 */
async function readParts(
  store: ObjectStore,
  keys: ObjectInfo[],
  sizes: ReadonlyMap<string, number>,
  opts: ShardWriterOptions,
): Promise<Map<number, PartCommit>> {
  const parts = new Map<number, PartCommit>();
  const broken: string[] = [];
  await mapLimit(keys, opts.concurrency, async (o) => {
    const p = await readJsonIfExists<PartCommit>(store, o.key);
    if (!p) return;
    for (const f of [...p.files, ...p.quarantineFiles]) {
      if (sizes.get(f.key) === f.bytes) continue;
      if ((await store.head(f.key))?.size !== f.bytes) {
        broken.push(o.key);
        return;
      }
    }
    parts.set(p.start.row, p);
  });
  if (broken.length > 0) {
    await store.deleteMany(broken);
    opts.log?.(`${broken.length} committed part(s) lost their files; their rows are scored again`);
  }
  return parts;
}
