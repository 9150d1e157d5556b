import { mkdtempSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkManifestSchema } from './support/manifestSchema.js';

/**
 * The run's own temporary folder, and every manifest the tests wrote in it checked against the committed JSON Schema
 * afterwards: manifests that no test reads through readManifest are held to the contract too. S3 (moto) manifests
 * are checked where the tests read them.
 *
 * TMPDIR is set for the run, before the test workers start, so that the tests' folders (tmpdir()/bs-*) and those of
 * the processes they start are this run's alone: on a machine where other checkouts run their tests at the same
 * time, their manifests are not this run's to check, and the folder is removed at the end.
 */
export default function setup(): () => Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'batchscore-test-'));
  process.env.TMPDIR = root;
  return async () => {
    const bad: string[] = [];
    let checked = 0;
    for (const d of await readdir(root)) {
      if (!d.startsWith('bs-')) continue;
      for (const file of await manifestsUnder(path.join(root, d))) {
        checked++;
        try {
          checkManifestSchema(JSON.parse(await readFile(file, 'utf8')), file);
        } catch (err) {
          bad.push((err as Error).message);
        }
      }
    }
    console.log(`manifest schema: ${checked} manifests written by the tests checked, ${bad.length} invalid`);
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
    if (bad.length > 0) throw new Error(bad.join('\n'));
  };
}

/**
 * The manifests under `dir`, symbolic links not followed: the pod runner's tests make image roots holding a link to
 * their own folder (`loop`), which readdir's `recursive` walks round and round until the heap is gone.
 */
async function manifestsUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) found.push(...(await manifestsUnder(p)));
    else if (e.isFile() && e.name === '_batch_manifest.json') found.push(p);
  }
  return found;
}
