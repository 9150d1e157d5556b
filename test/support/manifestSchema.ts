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

/** Throws, naming every breach, unless `m` is a manifest_version 1 manifest by the committed JSON Schema. */
export function checkManifestSchema(m: unknown, where = 'manifest'): void {
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv);
    validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
  }
  if (!validate(m)) {
    throw new Error(
      `${where} breaks schemas/batch-manifest.v1.schema.json: ` +
        `${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`,
    );
  }
}
