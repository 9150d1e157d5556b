import { choiceArg } from './args.js';

/** `--dry-run[=client|server]`, as kubectl: client prints the object, server has the API server check it too. */
export const DRY_RUN_OPTION = {
  'dry-run': {
    type: 'string',
    value: 'client|server|none',
    bare: 'client',
    help:
      'Create nothing. client (the default of a bare --dry-run): print the object; server: send it to the API ' +
      'server, which validates it without persisting, and print what it returned. none: create it.',
  },
} as const;

export type DryRun = 'client' | 'server' | undefined;

/** The --dry-run mode, or undefined for none (create). */
export function dryRunArg(v: string | undefined): DryRun {
  const mode = choiceArg('--dry-run', v, ['client', 'server', 'none'] as const);
  return mode === 'none' ? undefined : mode;
}
