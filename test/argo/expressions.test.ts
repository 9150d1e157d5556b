// The two Argo expressions batchscore renders, evaluated with Argo's semantics here (no controller runs):
// the retryStrategy expression over the failures a cluster delivers, and the CronWorkflow's date over
// daylight-saving changes. evalArgoExpression is expr-lang's semantics (Argo v4.0.5 uses expr v1.17.7); the sprig
// functions below model Masterminds/sprig v3.3.0's (date.go), the version Argo v4.0.5's go.mod pins and gives
// `{{= }}` expressions as `sprig` (util/expr/env/env.go). A real controller run is still to be done.
import { parseJobSpec } from '@batchscore/core';
import { renderCronWorkflow, renderWorkflow } from '@batchscore/coordinator';
import { describe, expect, it } from 'vitest';
import { evalArgoExpression, retryScope } from '../support/argoLocal.js';
import { present } from '../support/present.js';

const job = (cluster = '') =>
  parseJobSpec(
    `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: churn}
spec:
  input: {uri: "s3://data/in/{date}/"}
  model:
    uri: "s3://models/churn.onnx"
    version: "2024.1"
    inputs: [{name: x, columns: [a, b]}]
    outputs: [{name: p, index: 1, column: score}]
  output: {uri: "s3://out/churn/"}
${cluster ? `  cluster:\n${cluster}` : ''}`,
    { baseDir: '/' },
  );

describe('retryStrategy.expression, as Argo evaluates it', () => {
  const expressions = () => {
    const wf = present(renderWorkflow(job(), '2024-01-15'));
    return wf.spec.templates.filter((t) => t.retryStrategy).map((t) => [t.name, t.retryStrategy.expression] as const);
  };

  it('every pod template has one', () => {
    expect(expressions().map(([n]: readonly [string, string]) => n)).toEqual([
      'plan',
      'score',
      'merge',
      'record-failure',
    ]);
  });

  // What the controller records for each failure: phase, message and exit code ("-1" in the scope when none).
  it.each([
    [
      'exit 75 (retryable: storage, network, SIGTERM)',
      true,
      { exitCode: 75, status: 'Failed', message: 'Error (exit code 75)' },
    ],
    [
      'exit 137 (OOM-killed, or killed after the grace period)',
      true,
      { exitCode: 137, status: 'Failed', message: 'OOMKilled (exit code 137)' },
    ],
    [
      'a pod deleted while Running (node drain, spot reclaim): Error, no exit code',
      true,
      { status: 'Error', message: 'pod deleted' },
    ],
    [
      'a node shutdown (kubelet): Failed, no exit code',
      true,
      { status: 'Failed', message: 'Pod was terminated in response to imminent node shutdown.' },
    ],
    [
      'a node shutdown that got a SIGTERM exit 143',
      true,
      { exitCode: 143, status: 'Failed', message: 'Pod was terminated in response to imminent node shutdown.' },
    ],
    [
      'exit 65 (permanent: spec, model or data)',
      false,
      { exitCode: 65, status: 'Failed', message: 'Error (exit code 65)' },
    ],
    ['exit 64 (usage)', false, { exitCode: 64, status: 'Failed', message: 'Error (exit code 64)' }],
    ['exit 70 (a bug)', false, { exitCode: 70, status: 'Failed', message: 'Error (exit code 70)' }],
    [
      'exit 66 (not complete yet: a merge before every shard committed)',
      false,
      { exitCode: 66, status: 'Failed', message: 'Error (exit code 66)' },
    ],
    ['exit 1', false, { exitCode: 1, status: 'Failed', message: 'Error (exit code 1)' }],
    ['exit 65 on a pod then deleted', false, { exitCode: 65, status: 'Error', message: 'pod deleted' }],
    ['exit 66 on a pod then deleted', false, { exitCode: 66, status: 'Error', message: 'pod deleted' }],
    ['exit 75 on a pod then deleted', true, { exitCode: 75, status: 'Error', message: 'pod deleted' }],
    ['an Error with another message and no exit code', false, { status: 'Error', message: 'failed to create pod' }],
  ] as const)('%s: retried %s', (_what, retried, last) => {
    for (const [, expr] of expressions()) expect(evalArgoExpression(expr, retryScope(last))).toBe(retried);
  });
});

/** Go's time.Time, as far as these functions need it: an instant. */
type GoTime = { ms: number };
const GO_ZERO: GoTime = { ms: Date.parse('0001-01-01T00:00:00Z') };

/** The zone's offset from UTC at an instant, in ms (Intl knows the tz database, as Go's LoadLocation does). */
function offsetMs(zone: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const n = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return (
    Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(ms / 1000) * 1000
  );
}

/** sprig v3.3.0 date functions; `local` is the controller's time.Local (its TZ; usually UTC, not always). */
function sprigModel(local: string) {
  const zoneOf = (z: string) => {
    if (z === 'Local') return local;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: z });
      return z;
    } catch {
      return 'UTC'; // dateInZone: an unknown zone falls back to UTC
    }
  };
  return {
    // dateInZone(fmt string, date interface{}, zone string) string: t.In(loc).Format(fmt)
    dateInZone(fmt: string, t: GoTime, zone: string): string {
      if (fmt !== '2006-01-02') throw new Error(`model: layout ${fmt} not modelled`);
      return new Date(t.ms + offsetMs(zoneOf(zone), t.ms)).toISOString().slice(0, 10);
    },
    // toDate(fmt, str string) time.Time: time.ParseInLocation(fmt, str, time.Local), the zero time on error
    toDate(fmt: string, s: string): GoTime {
      if (fmt === '2006-01-02T15:04:05Z07:00') {
        return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(s) ? { ms: Date.parse(s) } : GO_ZERO;
      }
      if (fmt === '2006-01-02') {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return GO_ZERO;
        // Midnight wall time in Local: the offset in force then.
        const wall = Date.parse(`${s}T00:00:00Z`);
        const guess = wall - offsetMs(local, wall);
        return { ms: wall - offsetMs(local, guess) };
      }
      throw new Error(`model: layout ${fmt} not modelled`);
    },
    // dateModify(fmt string, date time.Time) time.Time: date.Add(time.ParseDuration(fmt)), date unchanged on error
    dateModify(d: string, t: GoTime): GoTime {
      const m = /^([+-]?)((?:\d+[hms])+)$/.exec(d);
      if (!m) return t;
      const unit = { h: 3_600_000, m: 60_000, s: 1000 } as const;
      const ms = [...m[2]!.matchAll(/(\d+)([hms])/g)].reduce(
        (a, [, n, u]) => a + Number(n) * unit[u as 'h' | 'm' | 's'],
        0,
      );
      return { ms: t.ms + (m[1] === '-' ? -ms : ms) };
    },
  };
}

describe('the CronWorkflow date, as Argo evaluates it', () => {
  const dateFor = (timezone: string, offset: number, scheduledTime: string, local = 'UTC') => {
    const cron = present(
      renderCronWorkflow(
        job(`    schedule: {crons: ["30 0 * * *"], timezone: ${timezone}, dateOffsetDays: ${offset}}\n`),
      ),
    );
    const value = cron.spec.workflowSpec.arguments.parameters[0]!.value;
    const m = /^\{\{=(.*)\}\}$/s.exec(value);
    expect(m, value).not.toBeNull();
    return evalArgoExpression(m![1]!, { workflow: { scheduledTime }, sprig: sprigModel(local) });
  };

  it.each([
    // Europe/Berlin springs forward on 2024-03-31 (that day has 23 hours) and falls back on 2024-10-27 (25 hours).
    ['Europe/Berlin', -1, '2024-04-01T00:30:00+02:00', '2024-03-31'],
    ['Europe/Berlin', -1, '2024-03-31T22:30:00Z', '2024-03-31'],
    ['Europe/Berlin', -1, '2024-10-27T23:30:00+01:00', '2024-10-26'],
    ['Europe/Berlin', -1, '2024-10-27T00:30:00+02:00', '2024-10-26'],
    ['Europe/Berlin', -1, '2024-01-15T00:30:00+01:00', '2024-01-14'],
    ['Europe/Berlin', -1, '2024-01-15T23:30:00+01:00', '2024-01-14'],
    ['Europe/Berlin', -2, '2024-04-01T00:30:00+02:00', '2024-03-30'],
    ['Europe/Berlin', 0, '2024-03-31T23:30:00+02:00', '2024-03-31'],
    ['America/New_York', -1, '2024-03-11T00:30:00-04:00', '2024-03-10'],
    ['America/New_York', -1, '2024-11-03T23:30:00-05:00', '2024-11-02'],
    ['UTC', -1, '2024-03-01T00:30:00Z', '2024-02-29'],
  ])('%s, offset %i, scheduled %s → %s', (tz, offset, at, date) => {
    expect(dateFor(tz, offset, at)).toBe(date);
  });

  it('does not depend on the controller’s own time zone (sprig.toDate parses in time.Local)', () => {
    for (const local of ['UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Pacific/Kiritimati']) {
      expect(dateFor('Europe/Berlin', -1, '2024-04-01T00:30:00+02:00', local)).toBe('2024-03-31');
      expect(dateFor('Europe/Berlin', -1, '2024-10-27T23:30:00+01:00', local)).toBe('2024-10-26');
    }
  });

  it('the sprig model agrees with Go on known instants', () => {
    const s = sprigModel('UTC');
    expect(
      s.dateInZone('2006-01-02', s.toDate('2006-01-02T15:04:05Z07:00', '2024-03-31T22:30:00Z'), 'Europe/Berlin'),
    ).toBe('2024-04-01');
    expect(
      s.dateInZone('2006-01-02', s.toDate('2006-01-02T15:04:05Z07:00', '2024-03-31T22:30:00Z'), 'No/Such_Zone'),
    ).toBe('2024-03-31');
    expect(s.dateModify('-24h', { ms: 0 })).toEqual({ ms: -86_400_000 });
    expect(s.dateModify('1d', { ms: 5 })).toEqual({ ms: 5 });
    expect(s.toDate('2006-01-02', 'garbage')).toEqual(GO_ZERO);
    expect(sprigModel('Europe/Berlin').toDate('2006-01-02', '2024-03-31')).toEqual({
      ms: Date.parse('2024-03-30T23:00:00Z'),
    });
  });
});
