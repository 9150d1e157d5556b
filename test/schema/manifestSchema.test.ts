import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { LocalStore } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { checkManifestSchema } from '../support/manifestSchema.js';

/**
 * The manifest's JSON Schema is a consumer's contract for version 1, which only ever adds fields: a consumer that
 * validates with today's schema must accept tomorrow's v1 manifest, so no object in it may forbid unknown fields.
 * (The tests hold batchscore's own manifests to a strict reading of it: every field it writes is described.)
 */

type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);
const SCHEMA = fileURLToPath(new URL('../../schemas/batch-manifest.v1.schema.json', import.meta.url));

/** Objects keyed by column or reason (maps, not records): a later version adds entries of their kind, not fields. */
const MAPS = new Set(['by_reason', 'predictions', 'features', 'psi']);

/** A copy of `v` with a field no version of batchscore writes added to every record in it. */
function withFutureFields(v: unknown, map = false): unknown {
  if (Array.isArray(v)) return v.map((x) => withFutureFields(x));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = map ? {} : { added_in_a_later_v1: { any: ['thing'] } };
  for (const [k, x] of Object.entries(v)) out[k] = withFutureFields(x, !map && MAPS.has(k));
  return out;
}

describe('batch-manifest.v1.schema.json', () => {
  it('accepts a later v1 manifest, with fields added to every object, as a consumer validates it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-schema-'));
    await writeCustomers(new LocalStore(dir), 'in/', 3_000, 3_000, 1_000);
    await writeFile(
      path.join(dir, 'job.yaml'),
      jobYaml({
        input: 'in/',
        model: CREDIT_MODEL,
        output: 'out/',
        rowsPerShard: 1_000,
        extra: '  validation: {ranges: {age: {max: 70}}, maxInvalidFraction: 0.5}\n  cost: {cpuNodeHour: 1}\n',
      }),
    );
    const r = await runCli(['run', 'job.yaml', '--local', '--date', '2024-10-01'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(
      await readFile(path.join(dir, 'out/batch_date=2024-10-01/model_version=v3/_batch_manifest.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(manifest.quarantined_record_count).toBeGreaterThan(0);

    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(await readFile(SCHEMA, 'utf8')));
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    const later = withFutureFields(manifest);
    expect(validate(later), JSON.stringify(validate.errors)).toBe(true);
    // The strict reading the tests use still sees every added field.
    expect(() => checkManifestSchema(later)).toThrow('must NOT have additional properties');
    expect(() => checkManifestSchema(manifest)).not.toThrow();
  });
});
