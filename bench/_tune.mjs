import { openStore, readJson } from '/work/main/packages/core/dist/index.js';
import { loadModel, scoreShard } from '/work/main/packages/worker/dist/index.js';
const open = (u) => openStore(u);
const m = process.argv[2];
const plan = await readJson(openStore(`/tmp/bench1/out-${m}/_batchscore/batch_date=2024-01-01/model_version=v1/`), 'plan.json');
const model = await loadModel(plan.job, open, { threads: 1, device: 'cpu' });
const t0 = performance.now();
for (let i = 0; i < 3; i++) { await scoreShard(plan, i, open, { model }); console.log(m, 'shard', i, JSON.stringify(model.tuning), Math.round(performance.now() - t0), 'ms rss', Math.round(process.resourceUsage().maxRSS / 1024)); }
