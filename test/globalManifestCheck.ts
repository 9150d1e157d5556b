import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkManifestSchema } from './support/manifestSchema.js';

/**
 * Every manifest the tests wrote on local disk (their folders are tmpdir()/bs-*), checked against the committed JSON
 * Schema after the run: manifests that no test reads through readManifest are held to the contract too. S3 (moto)
 * manifests are checked where the tests read them.
 */
export default function setup(): () => Promise<void> {
  const started = Date.now();
  return async () => {
    const bad: string[] = [];
    let checked = 0;
    for (const d of await readdir(tmpdir())) {
      if (!d.startsWith('bs-')) continue;
      const root = path.join(tmpdir(), d);
      if ((await stat(root)).mtimeMs < started - 1000) continue;
      const files = await readdir(root, { recursive: true }).catch(() => [] as string[]);
      for (const f of files) {
        if (!f.endsWith('_batch_manifest.json')) continue;
        const file = path.join(root, f);
        if ((await stat(file)).mtimeMs < started - 1000) continue;
        checked++;
        try {
          checkManifestSchema(JSON.parse(await readFile(file, 'utf8')), file);
        } catch (err) {
          bad.push((err as Error).message);
        }
      }
    }
    console.log(`manifest schema: ${checked} manifests written by the tests checked, ${bad.length} invalid`);
    if (bad.length > 0) throw new Error(bad.join('\n'));
  };
}
