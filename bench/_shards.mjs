import { openStore, readJson } from '/work/main/packages/core/dist/index.js';
import { loadModel, scoreShard } from '/work/main/packages/worker/dist/index.js';
const open = (u) => openStore(u);
const plan = await readJson(openStore('/tmp/bb/out-mlp/_batchscore/batch_date=2026-11-23/model_version=v1/'), 'plan.json');
const model = await loadModel(plan.job, open, { threads: 1, device: 'cpu' });
const t0 = performance.now();
for (let i = 0; i < 10; i++) await scoreShard(plan, i, open, { model });
console.log('10 shards', Math.round(performance.now() - t0), 'ms; rss MB', Math.round(process.resourceUsage().maxRSS / 1024));
