// The worker image, built for the tests that run it (`npm run image:build -- --target cpu --quiet`; a no-op when
// nothing changed). Asynchronous: a build takes minutes, and a test worker blocked that long (spawnSync) misses
// vitest's RPC deadlines ("Timeout calling onTaskUpdate"), failing a run whose tests all passed.
import { spawn } from 'node:child_process';
import { REPO } from './cli.js';

export function buildWorkerImage(): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', './scripts/tsLoader.mjs', 'scripts/image/cli.ts', '--target', 'cpu', '--quiet'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
