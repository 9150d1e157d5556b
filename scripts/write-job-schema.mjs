#!/usr/bin/env node
// Writes schemas/scoring-job.v1.schema.json from the job schema in packages/core (build first: `npm run build`).
// Run on purpose (`npm run schema:job`) when the schema changes; packages/core/src/jobJsonSchema.test.ts fails while
// the committed file differs from what toJobJsonSchema() returns.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatJobJsonSchema, toJobJsonSchema } from '../packages/core/dist/index.js';

const file = fileURLToPath(new URL('../schemas/scoring-job.v1.schema.json', import.meta.url));
writeFileSync(file, formatJobJsonSchema(toJobJsonSchema()));
console.log('schemas/scoring-job.v1.schema.json');
