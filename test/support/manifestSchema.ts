import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

const SCHEMA = fileURLToPath(new URL('../../schemas/batch-manifest.v1.schema.json', import.meta.url));

let validate: ((m: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };

/**
 * The schema read strictly: every object that names its fields names all it may hold. The committed schema lets
 * any object hold fields it does not name (version 1 only adds fields, and a consumer must accept them); the tests
 * hold batchscore's own manifests to this reading, so a field it writes that the schema does not describe fails.
 */
export function strictly(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictly);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? fieldsStrictly(v) : strictly(v);
  if ('properties' in schema && !('additionalProperties' in schema)) out.additionalProperties = false;
  return out;
}

function fieldsStrictly(properties: unknown): unknown {
  return Object.fromEntries(Object.entries(properties as Record<string, unknown>).map(([k, v]) => [k, strictly(v)]));
}

/**
 * Throws, naming every breach, unless `m` is a manifest_version 1 manifest by the committed JSON Schema, read
 * strictly (no field the schema does not describe).
 */
export function checkManifestSchema(m: unknown, where = 'manifest'): void {
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv);
    validate = ajv.compile(strictly(JSON.parse(readFileSync(SCHEMA, 'utf8'))) as object);
  }
  if (!validate(m)) {
    throw new Error(
      `${where} breaks schemas/batch-manifest.v1.schema.json: ` +
        `${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`,
    );
  }
}
