import { sha256Of } from '../hash.js';
import { mapLimit } from '../mapLimit.js';
import type { StoreFactory } from '../storeFactory.js';
import type { BatchManifest, ManifestFile } from './manifest.js';

/** A file a manifest lists that is not as the manifest says: gone, another size, or (verified) other bytes. */
export interface DamagedFile {
  /** Its full URI. */
  uri: string;
  /** Relative to its folder, as the manifest lists it. */
  path: string;
  problem: 'missing' | 'size' | 'sha256';
  /** What the manifest says (bytes or sha256) and what is there. */
  expected?: number | string;
  found?: number | string;
}

export interface PublishedRunCheck {
  /** Files the manifest lists (data and quarantine). */
  files: number;
  damaged: DamagedFile[];
  /** True when checksums were checked too, not only presence and sizes. */
  verified: boolean;
}

/**
 * Whether a complete run is still as its manifest says: every data and quarantine file it lists there with its size
 * (one listing of each run folder, not a request a file), and with `verify` its sha256 too (every byte read again,
 * `concurrency` files at a time). The one check of a published run: `run` (a rerun of a complete run), `merge`,
 * `plan --skip-complete` and `inspect` all ask it.
 */
export async function checkPublishedRun(
  open: StoreFactory,
  m: Pick<BatchManifest, 'files' | 'output' | 'quarantine'>,
  opts: { verify?: boolean; concurrency?: number } = {},
): Promise<PublishedRunCheck> {
  const damaged: DamagedFile[] = [];
  const groups: [string, ManifestFile[]][] = [
    [m.output.uri, m.files],
    [m.quarantine.uri, m.quarantine.files],
  ];
  for (const [folder, files] of groups) {
    if (files.length === 0) continue;
    const store = open(folder);
    const sizes = new Map((await store.list('')).map((o) => [o.key, o.size]));
    const whole: ManifestFile[] = [];
    for (const f of files) {
      const size = sizes.get(f.path);
      const at = { uri: store.uriOf(f.path), path: f.path };
      if (size === undefined) damaged.push({ ...at, problem: 'missing' });
      else if (size !== f.bytes) damaged.push({ ...at, problem: 'size', expected: f.bytes, found: size });
      else whole.push(f);
    }
    if (!opts.verify) continue;
    const sums = new Map<ManifestFile, string>();
    await mapLimit(whole, opts.concurrency ?? 8, async (f) => {
      sums.set(f, (await sha256Of(store, f.path)).sha256);
    });
    for (const f of whole) {
      const found = sums.get(f)!;
      if (found !== f.sha256)
        damaged.push({ uri: store.uriOf(f.path), path: f.path, problem: 'sha256', expected: f.sha256, found });
    }
  }
  return { files: m.files.length + m.quarantine.files.length, damaged, verified: opts.verify ?? false };
}

/** Pure: the damage in one line, naming the first few files: "2 of 8 published files are damaged: …". */
export function describeDamage(check: PublishedRunCheck, show = 3): string {
  const one = (d: DamagedFile) =>
    d.problem === 'missing'
      ? `${d.uri} is missing`
      : d.problem === 'size'
        ? `${d.uri} has ${d.found} bytes, the manifest says ${d.expected}`
        : `${d.uri} has sha256 ${String(d.found).slice(0, 12)}…, the manifest says ${String(d.expected).slice(0, 12)}…`;
  const n = check.damaged.length;
  const more = n > show ? `, and ${n - show} more` : '';
  return (
    `${n} of ${check.files} published file${check.files === 1 ? ' is' : 's are'} damaged: ` +
    `${check.damaged.slice(0, show).map(one).join('; ')}${more}`
  );
}

/** Pure: the shards the damaged files were written by (part-SSSSS-PPPP in their names), ascending. */
export function damagedShards(check: PublishedRunCheck): number[] {
  const shards = check.damaged.flatMap((d) => {
    const m = /(?:^|\/)part-(\d+)-\d+\.(?:parquet|parq)$/.exec(d.path);
    return m ? [Number(m[1])] : [];
  });
  return [...new Set(shards)].sort((a, b) => a - b);
}
