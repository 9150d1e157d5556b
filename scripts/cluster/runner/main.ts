// node --import ./scripts/tsLoader.mjs scripts/cluster/runner/main.ts CONFIG.json: the pod runner (podRunner.ts),
// started by scripts/cluster/cluster.mjs `up` with the configuration it wrote. Each container's stdout and stderr go
// to <stateDir>/pods/<namespace>_<pod>_<uid>/logs/<container>.{stdout,stderr} (`kubectl logs` does not work: there
// is no kubelet API to ask).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, now, sleep } from './log.js';
import { PodRunner } from './podRunner.js';
import type { RunnerConfig } from './types.js';

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath) {
    process.stderr.write('usage: node --import ./scripts/tsLoader.mjs scripts/cluster/runner/main.ts CONFIG.json\n');
    process.exit(64);
  }
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as RunnerConfig;
  const runner = new PodRunner(config);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping the containers`);
    await runner.stopAll();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  for (;;) {
    try {
      await runner.registerNodes();
      break;
    } catch (err) {
      log(`registering nodes failed: ${(err as Error).message}; again in 1 s`);
      await sleep(1000);
    }
  }
  setInterval(() => void runner.heartbeat(), (config.heartbeatSeconds ?? 20) * 1000).unref();
  writeFileSync(join(config.stateDir, 'ready'), now());
  log(`nodes ${config.nodes.map((n) => n.name).join(', ')} ready; watching pods`);
  await runner.watchPods();
}

main().catch((err) => {
  log(`pod runner failed: ${(err as Error).stack ?? err}`);
  process.exit(70);
});
