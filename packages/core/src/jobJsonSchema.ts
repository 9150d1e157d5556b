import { nodeToJsonSchema } from './schema/nodeToJsonSchema.js';
import type { JsonSchema } from './schema/node.js';
import { scoringJobSchema } from './spec.js';

export const JOB_SCHEMA_ID = 'https://batchscore.dev/schemas/scoring-job.v1.schema.json';

/**
 * The JSON Schema (draft-07) of a ScoringJob document as users write it: what editors check job files against
 * (schemas/scoring-job.v1.schema.json, written from this by scripts/write-job-schema.mjs) and what the Helm chart's
 * values.schema.json holds for each job (`{ standalone: false }`: without $schema and $id, to embed in another
 * schema). The parser's rules across fields (overlapping URIs, scorePods against parallelism, secret-looking env
 * names, time zones) are beyond it: it rejects less than parseJobSpec, never more.
 */
export function toJobJsonSchema(opts: { standalone?: boolean } = {}): JsonSchema {
  const title = 'batchscore ScoringJob, apiVersion batchscore.dev/v1alpha1';
  // draft-07 allows $schema only at a document's root: a schema embedded in another (the chart's `jobs:` items) omits
  // it.
  const root =
    opts.standalone === false ? {} : { $schema: 'http://json-schema.org/draft-07/schema#', $id: JOB_SCHEMA_ID };
  return { ...root, title, ...nodeToJsonSchema(scoringJobSchema) };
}

/** The committed file's text: two-space JSON and a final newline. */
export function formatJobJsonSchema(schema: JsonSchema): string {
  return JSON.stringify(schema, null, 2) + '\n';
}
