/**
 * Validates rendered Argo Workflows documents (Workflow, WorkflowTemplate, CronWorkflow as plain JS objects)
 * against Argo's own schemas, two independent ways, so that a rendering bug cannot slip through:
 *
 *  1. 'schema.json' — Argo v4.1.2's `api/jsonschema/schema.json` (draft 2020-12),
 * `#/definitions/io.argoproj.workflow.v1alpha1.<Kind>`.
 *  2. 'crd'         — `spec.versions[0].schema.openAPIV3Schema` of Argo v4.1.2's full CRDs. Only these carry
 *     limits such as `maxItems: 200` on DAG tasks / templates, `enum` on `concurrencyPolicy`, the cron pattern on
 *     `schedules[]`, and only these (with the pruning emulation below) reject unknown fields.
 *
 * Both need `../shared/conformance/argo-v4.1.2/` (next to the repository checkout); when that folder is absent
 * (a user's clone) no check runs: `validateArgo` returns no entry and `expectValidArgo` throws rather than pass
 * a document nothing looked at, so callers skip with ARGO_CONFORMANCE_SKIP_MESSAGE instead.
 *
 * There used to be a third check, 'kubernetes-models' (the validators generated into
 * `@kubernetes-models/argo-workflows`), the one that ran without the conformance folder. It was dropped with that
 * devDependency: its only release (2.0.0) and its dependencies require Node >= 22, against this project's Node 20,
 * so every `npm ci` warned EBADENGINE. What it alone caught the CRD check catches too (maxItems 200, the
 * concurrencyPolicy enum, the cron pattern), and test/argo/argoSchema.test.ts now asserts each such case on the
 * remaining checks. Its typed-model role went to packages/coordinator/src/render/argoTypes.ts, generated from the
 * same schema.json by scripts/gen-argo-types.mjs.
 *
 * Deliberate deviations from the raw schemas, each mirroring what Argo / Kubernetes actually accept:
 *  - schema.json: `IntOrString` and `Quantity` are declared `{type: string}` only; they are widened to
 *    integer-or-string as in the CRDs (`anyOf: [integer, string]` + `x-kubernetes-int-or-string`), so
 *    `retryStrategy.limit: 3` and `resources.limits.cpu: 1` pass, as they do on a real cluster.
 *  - crd: Kubernetes drops (or, with kubectl's default `--validate=strict`, rejects) fields a structural schema does
 *    not declare. Plain JSON-schema validation would silently accept them, so every object schema that declares
 *    `properties` and has neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields: true` is closed
 *    with `additionalProperties: false`. CEL rules (`x-kubernetes-validations`) are NOT evaluated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export type ArgoKind = 'Workflow' | 'WorkflowTemplate' | 'CronWorkflow';
export type ArgoCheckSource = 'schema.json' | 'crd';

export interface ArgoCheckResult {
  /** Which check produced this entry; 'input' when the document is not a supported Argo kind. */
  source: ArgoCheckSource | 'input';
  /** `<instancePath>: <message>` lines; empty when the check passed. */
  errors: string[];
}

export const ARGO_KINDS: readonly ArgoKind[] = ['Workflow', 'WorkflowTemplate', 'CronWorkflow'];

/** The folder the schema.json and CRD checks need, relative to the repository root. */
export const ARGO_CONFORMANCE_FOLDER = '../shared/conformance/argo-v4.1.2/';
export const ARGO_CONFORMANCE_SKIP_MESSAGE =
  `Argo v4.1.2 conformance files not found at ${ARGO_CONFORMANCE_FOLDER} (relative to the repository root; ` +
  'override with ARGO_CONFORMANCE_DIR): the schema.json and CRD checks of rendered Argo documents skipped';

const CRD_FILES: Record<ArgoKind, string> = {
  Workflow: 'argoproj.io_workflows.yaml',
  WorkflowTemplate: 'argoproj.io_workflowtemplates.yaml',
  CronWorkflow: 'argoproj.io_cronworkflows.yaml',
};
const REQUIRED_FILES = ['schema.json', ...Object.values(CRD_FILES)];

/**
 * Absolute path (with trailing slash) of the Argo v4.1.2 conformance folder, or undefined when it (or any of its
 * four files) is missing. `ARGO_CONFORMANCE_DIR` overrides the default `<repo>/../shared/conformance/argo-v4.1.2/`.
 */
export function argoConformanceDir(): string | undefined {
  const override = process.env.ARGO_CONFORMANCE_DIR;
  const dir = override
    ? override.endsWith('/')
      ? override
      : `${override}/`
    : fileURLToPath(new URL('../../../shared/conformance/argo-v4.1.2/', import.meta.url));
  return REQUIRED_FILES.every((f) => existsSync(dir + f)) ? dir : undefined;
}

export function conformanceAvailable(): boolean {
  return argoConformanceDir() !== undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// error formatting

interface ErrorLike {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function formatError(e: ErrorLike): string {
  const path = e.instancePath || '/';
  const params = e.params ?? {};
  let detail = '';
  if (e.keyword === 'additionalProperties') detail = ` (unknown field "${String(params.additionalProperty)}")`;
  else if (e.keyword === 'enum') detail = ` (allowed: ${JSON.stringify(params.allowedValues)})`;
  else if (e.keyword === 'const') detail = ` (allowed: ${JSON.stringify(params.allowedValue)})`;
  else if (!e.message) detail = ` ${e.keyword ?? ''} ${JSON.stringify(params)}`;
  return `${path}: ${e.message ?? 'invalid'}${detail}`;
}

/** `CronWorkflowSpec.schedules[]` item pattern of Argo v4.1.2 (argoproj.io_cronworkflows.yaml). */
export const V4_1_2_SCHEDULE_PATTERN = new RegExp(
  String.raw`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every\s+([0-9]+(` +
    String.raw`ns|us|µs|ms|s|m|h))+|([A-Za-z0-9*,/?-]+\s+){4}[A-Za-z0-9*,/?-]+)$`,
  'u',
);

// ---------------------------------------------------------------------------------------------------------------
// ajv helpers (schema.json and CRDs)

type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

function configureAjv<T extends Ajv>(ajv: T): T {
  // ajv-formats covers date-time, byte (base64), int32, int64, ...; Kubernetes also uses uint64.
  addFormats(ajv);
  ajv.addFormat('uint64', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  return ajv;
}

function logCompile(what: string, ms: number): void {
  console.info(`[argoSchema] compiled ${what} in ${(ms / 1000).toFixed(2)}s`);
}

function ajvErrors(validate: ValidateFunction, doc: unknown): string[] {
  if (validate(doc)) return [];
  return unique((validate.errors ?? []).map((e: ErrorObject) => formatError(e)));
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}

// ---------------------------------------------------------------------------------------------------------------
// 1. schema.json

const INT_OR_STRING = { anyOf: [{ type: 'integer' }, { type: 'string' }] };
/** Definitions widened to match the CRDs / Kubernetes (see the header). */
const SCHEMA_JSON_PATCHES: Record<string, object> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': INT_OR_STRING,
  'io.k8s.apimachinery.pkg.api.resource.Quantity': INT_OR_STRING,
};

let schemaJsonCache: { dir: string; validators: Map<ArgoKind, ValidateFunction>; ajv: Ajv; id: string } | undefined;

function schemaJsonValidator(dir: string, kind: ArgoKind): ValidateFunction {
  if (schemaJsonCache?.dir !== dir) {
    const schema = JSON.parse(readFileSync(`${dir}schema.json`, 'utf8')) as {
      $id: string;
      definitions: Record<string, object>;
    };
    for (const [name, replacement] of Object.entries(SCHEMA_JSON_PATCHES)) {
      if (!schema.definitions[name]) throw new Error(`schema.json has no definition ${name} to patch`);
      schema.definitions[name] = replacement;
    }
    const ajv = configureAjv(new Ajv2020({ allErrors: true, strict: false }) as unknown as Ajv);
    ajv.addSchema(schema);
    schemaJsonCache = { dir, validators: new Map(), ajv, id: schema.$id };
  }
  const cache = schemaJsonCache;
  let validate = cache.validators.get(kind);
  if (!validate) {
    const started = performance.now();
    const ref = `${cache.id}#/definitions/io.argoproj.workflow.v1alpha1.${kind}`;
    validate = cache.ajv.getSchema(ref);
    if (!validate) throw new Error(`schema.json has no definition for ${kind}`);
    logCompile(`schema.json ${kind}`, performance.now() - started);
    cache.validators.set(kind, validate);
  }
  return validate;
}

// ---------------------------------------------------------------------------------------------------------------
// 2. CRDs

type JsonObject = Record<string, unknown>;

/** Emulates structural-schema pruning: undeclared fields are an error, except under preserve-unknown-fields. */
function closeObjects(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(closeObjects);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const schema = node as JsonObject;
  if (
    schema.properties &&
    typeof schema.properties === 'object' &&
    schema.additionalProperties === undefined &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    schema.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object') {
      // `properties` maps field names to schemas: recurse into each schema, never treat the map itself as one.
      Object.values(value as JsonObject).forEach(closeObjects);
    } else if (key !== 'enum' && key !== 'default' && key !== 'example' && key !== 'x-kubernetes-validations') {
      closeObjects(value);
    }
  }
}

const crdCache = new Map<string, ValidateFunction>();

function crdValidator(dir: string, kind: ArgoKind): ValidateFunction {
  const file = `${dir}${CRD_FILES[kind]}`;
  let validate = crdCache.get(file);
  if (!validate) {
    const started = performance.now();
    const crd = parseYaml(readFileSync(file, 'utf8')) as {
      spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: JsonObject } }[] };
    };
    if (crd.spec.names.kind !== kind) throw new Error(`${file} defines ${crd.spec.names.kind}, expected ${kind}`);
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    closeObjects(schema);
    const parsed = performance.now();
    // Draft-07 ajv handles OpenAPI v3 structural schemas; `x-kubernetes-*` keywords are ignored (strict: false).
    // `x-kubernetes-int-or-string` always comes with `anyOf: [{type: integer}, {type: string}]` in these CRDs,
    // so ajv needs no help for it.
    const ajv = configureAjv(new Ajv({ allErrors: true, strict: false }));
    validate = ajv.compile(schema);
    logCompile(
      `CRD ${CRD_FILES[kind]} (YAML parse ${((parsed - started) / 1000).toFixed(2)}s)`,
      performance.now() - parsed,
    );
    crdCache.set(file, validate);
  }
  return validate;
}

// ---------------------------------------------------------------------------------------------------------------
// public API

/**
 * Runs every available check on `doc` and returns one entry per check that ran: 'schema.json' and 'crd' when
 * the conformance folder exists, none when it does not. A document that is not an object with a supported `kind`
 * yields a single 'input' entry instead.
 */
export function validateArgo(doc: unknown): ArgoCheckResult[] {
  const kind = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string' || !(ARGO_KINDS as readonly string[]).includes(kind)) {
    return [{ source: 'input', errors: [`/kind: ${JSON.stringify(kind)} is not one of ${ARGO_KINDS.join(', ')}`] }];
  }
  const argoKind = kind as ArgoKind;
  const results: ArgoCheckResult[] = [];
  const dir = argoConformanceDir();
  if (dir) {
    results.push({ source: 'schema.json', errors: ajvErrors(schemaJsonValidator(dir, argoKind), doc) });
    results.push({ source: 'crd', errors: ajvErrors(crdValidator(dir, argoKind), doc) });
  }
  return results;
}

/**
 * Throws an Error listing every error of every check (with instance paths) if any check found one, or if no check
 * could run (conformance folder missing): a document nothing validated must not pass as valid.
 */
export function expectValidArgo(doc: unknown): void {
  const results = validateArgo(doc);
  if (results.length === 0) throw new Error(`no Argo schema check ran: ${ARGO_CONFORMANCE_SKIP_MESSAGE}`);
  const failed = results.filter((r) => r.errors.length > 0);
  if (failed.length === 0) return;
  const name = (doc as { metadata?: { name?: string; generateName?: string } } | null)?.metadata;
  const kind = (doc as { kind?: unknown } | null)?.kind;
  const lines = failed.flatMap((r) => r.errors.map((e) => `  [${r.source}] ${e}`));
  const ran = results.map((r) => r.source).join(', ');
  throw new Error(
    `invalid Argo ${String(kind)} ${name?.name ?? name?.generateName ?? ''} (${lines.length} ` +
      `error(s); checks run: ${ran}):\n${lines.join('\n')}`,
  );
}
