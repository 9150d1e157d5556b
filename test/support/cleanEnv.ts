import { execFile } from 'node:child_process';
import { BIN, REPO, type CliResult } from './cli.js';

/**
 * This process's environment without any S3 endpoint variable (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, …) or
 * path-style switch: a child given it can reach a test server only through what the job or its arguments say.
 */
export function envWithoutEndpoint(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('AWS_ENDPOINT_URL') || k === 'BATCHSCORE_S3_FORCE_PATH_STYLE') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs the built CLI with exactly `env` (nothing inherited) and a wall-clock limit, after which it is killed. */
export function runCliWithEnv(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<CliResult & { ms: number; killed: boolean }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO, env, maxBuffer: 16 << 20, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - t0, killed: child.killed });
      },
    );
  });
}
