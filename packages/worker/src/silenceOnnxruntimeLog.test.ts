import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs an ES module with the built worker package as `w` in a process of its own; its stdout and stderr. */
function runWith(body: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `import * as w from ${JSON.stringify(ROOT + 'packages/worker/dist/index.js')};\n${body}`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("onnxruntime's native log", () => {
  it('stays silent when a process opens a CPU session before it asks for CUDA', async () => {
    // onnxruntime sets its default logger's level once, at the first session; a CPU session first used to leave
    // it at `warning`, and the CUDA provider's load failure was then printed in red to stderr.
    const r = await runWith(`
      import { readFileSync } from 'node:fs';
      const job = { spec: { model: { uri: 'models/credit.onnx' }, worker: { batchSize: 'auto' } } };
      const bytes = readFileSync('models/credit.onnx');
      const cpu = await w.createSession(bytes, job, { device: 'cpu' });
      const auto = await w.createSession(bytes, job, { device: 'auto', log: (l) => console.log('warned: ' + l) });
      console.log(cpu.executionProvider, auto.executionProvider);
    `);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(['cpu cpu', 'cpu cuda']).toContain(r.stdout.trim().split('\n').pop());
  });
});
