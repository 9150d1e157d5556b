import { EXIT_CODES } from '@batchscore/core';
import { optionLabel, wrap, type CommandSpec } from './command.js';
import { GLOBAL_OPTIONS } from './commands.js';

/** `batchscore --help`: the commands with what each is for, their synopses, the options every command takes. */
export function renderTopHelp(specs: CommandSpec[]): string {
  const col = Math.max(...specs.map((s) => s.name.length)) + 2;
  const global = Object.entries(GLOBAL_OPTIONS).map(([name, o]) => [optionLabel(name, o), o.help] as const);
  const gcol = Math.max(...global.map(([l]) => l.length)) + 2;
  return [
    'batchscore: score large datasets with ONNX models as batch jobs',
    '',
    'Commands:',
    ...specs.map((s) => `  ${s.name.padEnd(col)}${s.summary}`),
    '',
    'Usage:',
    ...synopsis(specs),
    '',
    'Every command also takes:',
    ...global.flatMap(([label, help]) =>
      wrap(help, 114 - gcol).map((t, i) => `  ${i === 0 ? label.padEnd(gcol) : ' '.repeat(gcol)}${t}`),
    ),
    '',
    'Exit codes:',
    ...EXIT_CODES.map((e) => `  ${String(e.code).padEnd(4)}${e.meaning.split(':')[0]}`),
    '',
    "batchscore COMMAND --help prints a command's options; docs/cli.md has them all.",
  ].join('\n');
}

/** Every command's synopses, then the top-level forms: the README's Commands block and the top-level help. */
export function synopsis(specs: CommandSpec[]): string[] {
  return [
    ...specs.flatMap((s) => s.usage.map((u) => `batchscore ${s.name} ${u}`)),
    'batchscore --version',
    'batchscore --help | -h, batchscore COMMAND --help',
  ];
}
