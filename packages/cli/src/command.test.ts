import { describe, expect, it } from 'vitest';
import { defineCommand, optionLabel, parseCommand, renderHelp, wrap } from './command.js';

const CMD = defineCommand({
  name: 'x',
  summary: 'A command for the tests.',
  usage: ['JOB.yaml [--date D] [--dry-run[=client|server]] [-o json|yaml] [--force]'],
  description: 'Does x.\nThen y.',
  options: {
    date: { type: 'string', value: 'D', help: 'The date.' },
    'dry-run': { type: 'string', value: 'client|server|none', bare: 'client', help: 'Create nothing.' },
    output: { type: 'string', short: 'o', value: 'json|yaml', help: 'The format.' },
    force: { type: 'boolean', help: 'Force it.' },
    serve: { type: 'boolean', internal: true, help: 'Internal.' },
  },
});

const usage = (argv: string[]) => {
  try {
    parseCommand(CMD, argv);
  } catch (e) {
    expect(e).toMatchObject({ code: 'USAGE' });
    return (e as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

describe('parseCommand', () => {
  it('parses the table’s options, kubectl’s forms of -o included', () => {
    for (const o of [['-o', 'yaml'], ['-oyaml'], ['--output', 'yaml'], ['--output=yaml']]) {
      expect(parseCommand(CMD, ['job.yaml', ...o, '--force'])).toEqual({
        values: { output: 'yaml', force: true },
        positionals: ['job.yaml'],
      });
    }
  });

  it('takes --dry-run bare (client) or with =VALUE, as kubectl does; a value never follows a space', () => {
    expect(parseCommand(CMD, ['--dry-run']).values).toEqual({ 'dry-run': 'client' });
    expect(parseCommand(CMD, ['--dry-run=server']).values).toEqual({ 'dry-run': 'server' });
    expect(parseCommand(CMD, ['--dry-run', 'server'])).toEqual({
      values: { 'dry-run': 'client' },
      positionals: ['server'],
    });
    // After `--`, everything is a positional, as written.
    expect(parseCommand(CMD, ['--', '--dry-run']).positionals).toEqual(['--dry-run']);
  });

  it('says what is wrong in one line, naming the option and what the command takes (internal ones unnamed)', () => {
    expect(usage(['--nope'])).toBe('unknown option --nope; this command takes --date, --dry-run, -o/--output, --force');
    expect(usage(['--force=yes'])).toBe('--force takes no value');
    expect(usage(['--date'])).toBe('--date needs a value');
    expect(usage(['--date', '--force'])).toBe(
      "--date needs a value, got an option; write --date=VALUE for a value starting with '-'",
    );
  });
});

describe('help', () => {
  it('the synopses, the description, then the options a user may give, aligned', () => {
    expect(renderHelp(CMD)).toBe(
      [
        'batchscore x JOB.yaml [--date D] [--dry-run[=client|server]] [-o json|yaml] [--force]',
        '  Does x.',
        '  Then y.',
        '',
        '  Options:',
        '    --date D                        The date.',
        '    --dry-run[=client|server|none]  Create nothing.',
        '    -o, --output json|yaml          The format.',
        '    --force                         Force it.',
      ].join('\n'),
    );
  });

  it('labels options as usage writes them', () => {
    expect(optionLabel('namespace', { type: 'string', short: 'n', value: 'NS', help: '' })).toBe('-n, --namespace NS');
    expect(optionLabel('force', { type: 'boolean', help: '' })).toBe('--force');
  });

  it('wraps words at the width, a longer word whole', () => {
    expect(wrap('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
    expect(wrap('a verylongword b', 4)).toEqual(['a', 'verylongword', 'b']);
    expect(wrap('', 10)).toEqual([]);
  });
});
