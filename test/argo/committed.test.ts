import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { BIN, REPO } from '../support/cli.js';

// argo/ is generated from examples/ by `npm run render:examples`; regenerate on purpose when the renderer changes.
it.each([
  ['credit-risk', 'workflowtemplate'],
  ['credit-risk', 'cronworkflow'],
])('argo/%s.%s.yaml is what the renderer produces now', async (name, kind) => {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'render', path.join(REPO, `examples/${name}.yaml`), '--kind', kind]);
  const committed = await readFile(path.join(REPO, `argo/${name}.${kind}.yaml`), 'utf8');
  expect(committed.replace(/^#.*\n/, '')).toBe(stdout);
});
