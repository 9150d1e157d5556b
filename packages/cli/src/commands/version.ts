import { createRequire } from 'node:module';
import { API_VERSION, BATCHSCORE_VERSION, BatchscoreError } from '@batchscore/core';
import { defineCommand, parseCommand } from '../command.js';
import { outputFormat, outputOption, printOutput } from '../outputFormat.js';

export const VERSION = defineCommand({
  name: 'version',
  summary: 'Prints the versions of batchscore, Node and onnxruntime-node, and the job apiVersion it reads.',
  usage: ['[-o json|yaml]'],
  description: `Prints the version of batchscore, of Node and of onnxruntime-node, the platform, and the job apiVersion
it reads, on one line. batchscore --version prints the version alone.`,
  options: {
    ...outputOption(['json', 'yaml'], 'Print them as an object: version, node, platform, onnxruntime, jobApiVersion.'),
  },
});

export interface VersionInfo {
  version: string;
  /** process.version: the runtime the worker image or the user's machine brings. */
  node: string;
  /** `os/arch` as Node names them (linux/x64): onnxruntime's native build and the CUDA provider depend on it. */
  platform: string;
  /** onnxruntime-node's version, which decides the ONNX opsets and IR versions a model may use. */
  onnxruntime: string;
  /** The ScoringJob apiVersion this build reads. */
  jobApiVersion: string;
}

/** `batchscore --version`: one line, like `git --version`. */
export function versionLine(): string {
  return `batchscore ${BATCHSCORE_VERSION}`;
}

export function versionInfo(): VersionInfo {
  return {
    version: BATCHSCORE_VERSION,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    onnxruntime: onnxruntimeVersion(),
    jobApiVersion: API_VERSION,
  };
}

/** Read from the worker's onnxruntime-node package.json: importing the package would load its native library. */
function onnxruntimeVersion(): string {
  try {
    const fromWorker = createRequire(createRequire(import.meta.url).resolve('@batchscore/worker'));
    return (fromWorker('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function formatVersionText(v: VersionInfo): string {
  return (
    `batchscore ${v.version} (node ${v.node}, ${v.platform}, onnxruntime-node ${v.onnxruntime}, ` +
    `reads ${v.jobApiVersion})`
  );
}

export async function versionCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(VERSION, argv);
  if (positionals.length)
    throw new BatchscoreError('USAGE', `version takes no arguments, got ${JSON.stringify(positionals[0])}`);
  const format = outputFormat(values.output, ['json', 'yaml']);
  const info = versionInfo();
  if (format === undefined) process.stdout.write(formatVersionText(info) + '\n');
  else printOutput(info, format);
}
