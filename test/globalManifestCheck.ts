import { mkdtempSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
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
      const files = await readdir(path.join(root, d), { recursive: true }).catch(() => [] as string[]);
      for (const f of files) {
        if (!f.endsWith('_batch_manifest.json')) continue;
        const file = path.join(root, d, f);
        if (!(await stat(file)).isFile()) continue;
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
