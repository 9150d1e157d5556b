// `node --import ./scripts/tsLoader.mjs FILE.ts`: runs a TypeScript file of scripts/ (see tsHooks.mjs).
import { register } from 'node:module';

register('./tsHooks.mjs', import.meta.url);
