// Preloaded (node --import) into a CLI run by bench/scale.ts: writes the process's peak RSS in bytes to
// BENCH_RSS_FILE as it exits, since Node cannot read a child's resource usage.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE)
    writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS * 1024));
});
