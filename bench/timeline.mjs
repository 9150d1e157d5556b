// One run's timeline from BATCHSCORE_TIMELINE's JSON lines (core/src/timeline.ts): when each fixed cost ends, in
// seconds from the start of the `run --local` process, and what each phase took.
import { readFileSync } from 'node:fs';

export function readTimeline(file) {
  const events = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const parent = events.find((e) => e.step === 'process start' && e.role === 'run');
  const t0 = parent.ms;
  const at = (e) => (e ? (e.ms - t0) / 1000 : undefined);
  const mine = (step) => events.find((e) => e.pid === parent.pid && e.step === step);
  const workers = new Set(events.filter((e) => e.role === 'score' && e.step === 'process start').map((e) => e.pid));
  const ofWorkers = (step) => events.filter((e) => workers.has(e.pid) && e.step === step);
  const first = (es) => es.reduce((a, b) => (a && a.ms <= b.ms ? a : b), undefined);
  const last = (es) => es.reduce((a, b) => (a && a.ms >= b.ms ? a : b), undefined);
  const steps = [
    ['node and modules loaded', mine('modules loaded')],
    ['plan made (footers read)', mine('planned')],
    ['model loaded and checked', mine('model checked')],
    ['calibrated', mine('calibrated')],
    ['plan written', mine('plan written')],
    ['first worker started', first(ofWorkers('process start'))],
    ['last worker ready (modules + model)', last(ofWorkers('model loaded'))],
    ['first shard started', first(ofWorkers('shard start'))],
    ['first shard committed', first(ofWorkers('shard committed'))],
    ['last shard committed', last(ofWorkers('shard committed'))],
    ['merge checked (commits read)', mine('merge checked')],
    ['published', mine('published')],
    ['manifest written', mine('manifest written')],
    ['process exited', mine('exit')],
  ];
  return steps.map(([step, e]) => ({ step, at: at(e) }));
}

/** The timeline as a Markdown table: each step's end and the time since the step before. */
export function formatTimeline(title, steps) {
  const lines = [`| ${title} | at (s) | took (s) |`, '|---|---:|---:|'];
  let prev = 0;
  for (const s of steps) {
    if (s.at === undefined) continue;
    lines.push(`| ${s.step} | ${s.at.toFixed(3)} | ${(s.at - prev).toFixed(3)} |`);
    prev = s.at;
  }
  return lines.join('\n');
}
