import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { mark } from './timeline.js';

const saved = process.env.BATCHSCORE_TIMELINE;
afterEach(() => {
  if (saved === undefined) delete process.env.BATCHSCORE_TIMELINE;
  else process.env.BATCHSCORE_TIMELINE = saved;
});

test('mark appends one JSON line per step with the pid, the step, its fields and the time', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'timeline-')), 't.jsonl');
  process.env.BATCHSCORE_TIMELINE = file;
  mark('planned', { shards: 3 }, 1_700_000_000_123.45);
  mark('scored', {}, 1_700_000_001_000);
  expect(readFileSync(file, 'utf8')).toBe(
    `{"pid":${process.pid},"step":"planned","ms":1700000000123.5,"shards":3}\n` +
      `{"pid":${process.pid},"step":"scored","ms":1700000001000}\n`,
  );
});

test('mark writes nothing once BATCHSCORE_TIMELINE is unset', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'timeline-')), 't.jsonl');
  process.env.BATCHSCORE_TIMELINE = file;
  mark('planned', {}, 1);
  delete process.env.BATCHSCORE_TIMELINE;
  mark('scored', {}, 2);
  expect(readFileSync(file, 'utf8')).toBe(`{"pid":${process.pid},"step":"planned","ms":1}\n`);
});
