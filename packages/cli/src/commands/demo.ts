import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { BatchscoreError, openStore, readJobFile, runDir, runKeyOf, toParquetBytes } from '@batchscore/core';
import { dateArg, intArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { makeCustomers } from '../demo/makeCustomers.js';
import { readTiers, TIERS } from '../demo/tiers.js';
import { fmtInt } from '../progress.js';
import { runLocal } from '../local/runLocal.js';
import { printSummary, summaryRecord } from '../summary.js';
import { outputFormat, outputOption, printOutput } from '../outputFormat.js';
import { lineLog, log } from '../log.js';

export const DEMO = defineCommand({
  name: 'demo',
  summary: 'Scores a generated credit table with the bundled model and prints the risk tiers (no network).',
  usage: ['[--rows N] [--workers N] [--dir DIR] [-o json|yaml]'],
  description: `Makes a credit table in DIR, scores it with the bundled credit-default model through the local run,
and prints risk tiers. No network.`,
  options: {
    rows: { type: 'string', value: 'N', help: 'Rows to make (default 1,000,000).' },
    workers: { type: 'string', value: 'N', help: 'Worker processes (default: chosen as for run --local).' },
    dir: { type: 'string', value: 'DIR', help: 'Where the data, job and output go (default ./.demo).' },
    ...outputOption(
      ['json', 'yaml'],
      "Print the tiers, the mean and the run's summary as one record (tiers: rows in LOW, MEDIUM, HIGH).",
    ),
  },
});

const MODEL = fileURLToPath(new URL('../../../../models/credit.onnx', import.meta.url));
const FILE_ROWS = 250_000;

export async function demoCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(DEMO, argv);
  if (positionals.length > 0) throw new BatchscoreError('USAGE', `unexpected argument ${positionals[0]}`);
  const format = outputFormat(values.output, ['json', 'yaml']);
  const rows = intArg('rows', values.rows, 1) ?? 1_000_000;
  const workers = intArg('workers', values.workers, 1);
  const dir = path.resolve(values.dir ?? '.demo');
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { recursive: true });

  const t0 = Date.now();
  const data = openStore(dataDir);
  for (const o of await data.list('')) await data.delete(o.key);
  // Several files of 100k-row groups, so the planner has footers and row groups to cut.
  for (let first = 0, f = 0; first < rows; first += FILE_ROWS, f++) {
    const n = Math.min(FILE_ROWS, rows - first);
    await data.put(
      `customers-${String(f).padStart(3, '0')}.parquet`,
      toParquetBytes(withTypos(makeCustomers(n, first), first), undefined, 100_000),
    );
  }
  log().info(`demo data: ${fmtInt(rows)} rows in ${dataDir} (${((Date.now() - t0) / 1000).toFixed(1)}s)`, {
    rows,
    dataDir,
  });

  const jobFile = path.join(dir, 'credit-risk.yaml');
  await writeFile(jobFile, demoJob(MODEL));
  const job = await readJobFile(jobFile);
  const r = await runLocal(job, {
    date: dateArg(undefined),
    ...(workers ? { workers } : {}),
    force: true,
    progress: true,
    log: lineLog(),
  });

  const out = openStore(job.spec.output.uri);
  const t = await readTiers(out, runDir(runKeyOf(r.manifest)), r.manifest, 'default_probability');
  if (format) {
    const tiers = Object.fromEntries(TIERS.map((tier, i) => [tier.name, t.counts[i]!]));
    const record = { tiers, meanDefaultProbability: t.mean, jobFile };
    printOutput({ ...record, ...summaryRecord(r.manifest, r.manifestUri, r.alreadyComplete) }, format);
    return;
  }
  const lines = ['', `Risk tiers (${fmtInt(t.rows)} customers)`];
  TIERS.forEach((tier, i) => {
    const c = t.counts[i]!;
    lines.push(`  ${tier.name.padEnd(7)} ${fmtInt(c).padStart(12)}  ${((100 * c) / t.rows).toFixed(1).padStart(5)}%`);
  });
  lines.push(`  mean default probability ${t.mean.toFixed(4)}`, `  job file ${jobFile}`, '');
  process.stdout.write(lines.join('\n') + '\n');
  printSummary(r.manifest, r.manifestUri, r.alreadyComplete, undefined);
  process.stdout.write(
    `\nMore: npx batchscore inspect ${path.relative(process.cwd(), path.join(dir, 'out')) || '.'} ` +
      `--date ${r.manifest.batch_date}\n`,
  );
}

/** One customer in 20,000 gets an impossible age (a data-entry typo), so the demo shows bad rows quarantined. */
function withTypos(t: arrow.Table, firstId: number): arrow.Table {
  const age = Float64Array.from(t.getChild('age')!.toArray() as Float64Array);
  for (let i = (20_000 - (firstId % 20_000)) % 20_000; i < age.length; i += 20_000) age[i] = 460;
  const cols: Record<string, arrow.Vector> = {};
  for (const f of t.schema.fields) cols[f.name] = f.name === 'age' ? arrow.makeVector(age) : t.getChild(f.name)!;
  return new arrow.Table(cols);
}

export function demoJob(modelPath: string): string {
  return `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: credit-risk}
spec:
  input: {uri: "data/", format: parquet}
  model:
    uri: "file://${modelPath}"
    version: v3
    inputs:  [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: default_probability}]
  output:
    uri: "out/"
    passthrough: [customer_id]
  sharding: {rowsPerShard: 250000}
  validation:
    ranges: {age: {min: 18, max: 110}}
`;
}
