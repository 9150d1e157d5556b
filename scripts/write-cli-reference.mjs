#!/usr/bin/env node
// Writes docs/cli.md and the README's generated parts (the commands' synopses, the exit codes) from the commands'
// option tables (build first: `npm run docs:cli` does). test/docs/cliReference.test.ts fails while the committed
// files differ from what packages/cli/src/cliReference.ts renders.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCliReference, renderReadme } from '../packages/cli/dist/cliReference.js';
import { allCommandSpecs } from '../packages/cli/dist/commands.js';

const at = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const specs = await allCommandSpecs();
writeFileSync(at('docs/cli.md'), renderCliReference(specs));
writeFileSync(at('README.md'), renderReadme(readFileSync(at('README.md'), 'utf8'), specs));
console.log('docs/cli.md README.md');
