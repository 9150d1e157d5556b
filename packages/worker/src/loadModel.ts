import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  BatchscoreError,
  fetchModel,
  openObject,
  type Device,
  type FetchedModel,
  type ModelIdentity,
  type ScoringJob,
  type StoreFactory,
} from '@batchscore/core';
import ort from 'onnxruntime-node';
import { checkModelBinding } from './checkModelBinding.js';
import { findZipMaps, parseOnnxGraph, withGraphOutputs, type ZipMapOutput } from './onnxGraph.js';
import { resolveDevice, type DeviceSource } from './resolveDevice.js';
import { silenceOnnxruntimeLog } from './silenceOnnxruntimeLog.js';

// The bound model's types have a file of their own, so that the modules that use them (the binding check, infer,
// toTensors, toColumns) do not import the loader that uses them back.
export type { BoundInput, BoundOutput, InputDType, LoadedModel, OutputDType } from './loadedModel.js';
import type { BoundInput, BoundOutput, LoadedModel } from './loadedModel.js';

/**
 * Fetches the model (and its external data files, from beside it), checks every file is the one the plan hashed
 * (`expect`), opens one onnxruntime session (reused for the whole shard) and binds the job's inputs/outputs to the
 * model's own names, dtypes and shapes.
 */
export async function loadModel(
  job: ScoringJob,
  open: StoreFactory,
  opts: {
    expect?: ModelIdentity;
    threads?: number;
    log?: (line: string) => void;
    info?: (line: string) => void;
    device?: Device;
    defaultDevice?: Device;
  } = {},
): Promise<LoadedModel> {
  const { store, key } = openObject(open, job.spec.model.uri);
  const fetched = await fetchModel(store, key, job.spec.model.uri, opts.expect);
  const { session, executionProvider, zipMaps } = await createModelSession(fetched, job, opts);
  const bound = bindModel(job, session.inputMetadata, session.outputMetadata, zipMaps);
  const model: LoadedModel = { session, ...bound, executionProvider, onnxruntimeVersion: ort.env.versions.common };
  if (bound.fixedBatch !== undefined) {
    const n = bound.fixedBatch;
    // The model takes no other size: there is nothing to tune, and nothing to halve after a failed run.
    model.tuning = { size: n, trials: [], ceiling: n };
    const input = session.inputMetadata.find((m) => m.isTensor && typeof m.shape[0] === 'number')!.name;
    opts.info?.(
      `${job.spec.model.uri}: model input "${input}" has a fixed batch dimension of ${n}, ` +
        `so rows are scored ${n} at a time (spec.worker.batchSize does not apply; a last ` +
        `batch short of ${n} rows is padded and the padding's outputs dropped)`,
    );
  }
  return model;
}

/**
 * createSession for a fetched model as a worker and `validate` bind it: the tensors its ZipMaps are made from become
 * outputs too, since onnxruntime-node returns no sequence of maps ("Non tensor type is temporarily not supported").
 * A model with external data is loaded by path from the private folder its files were fetched into (onnxruntime
 * resolves them against the model file's folder; loaded from bytes, it would look in the working directory), and
 * the folder is removed once the session has read them.
 */
export async function createModelSession(
  fetched: FetchedModel,
  job: ScoringJob,
  opts: Parameters<typeof createSession>[2],
): Promise<{ session: ort.InferenceSession; executionProvider: string; zipMaps: ZipMapOutput[] }> {
  try {
    const { model, zipMaps } = exposeZipMaps(fetched.bytes);
    let file: string | undefined;
    if (fetched.folder) {
      file = path.join(fetched.folder, GRAPH_FILE);
      await writeFile(file, model, { flag: 'wx', mode: 0o600 });
    }
    return { ...(await createSession(file ?? model, job, opts)), zipMaps };
  } finally {
    await fetched.cleanup();
  }
}

/** The graph's name in a model's private folder (its data files keep the paths the graph gives them). */
const GRAPH_FILE = '.batchscore-model.onnx';

/** Pure: the model with the tensors its ZipMaps are made from as graph outputs too, and those ZipMaps. */
export function exposeZipMaps(bytes: Uint8Array): { model: Uint8Array; zipMaps: ZipMapOutput[] } {
  const zipMaps = zipMapsOf(bytes);
  return {
    model:
      zipMaps.length > 0
        ? withGraphOutputs(
            bytes,
            zipMaps.map((z) => z.source),
          )
        : bytes,
    zipMaps,
  };
}

/**
 * One session per worker process, on the device resolveDevice picks (`device`, else spec.worker.device, else
 * `defaultDevice`, else auto). `auto` asks for ['cuda', 'cpu'] (onnxruntime places what CUDA cannot run on the
 * CPU); when the CUDA provider cannot load (no library, no driver, no GPU) it warns once with the reason and goes
 * on with CPU. `cuda` fails with that reason instead (exit 65), naming where `cuda` came from.
 */
export async function createSession(
  model: Uint8Array | string,
  job: ScoringJob,
  opts: { threads?: number; log?: (line: string) => void; device?: Device; defaultDevice?: Device },
): Promise<{ session: ort.InferenceSession; executionProvider: string }> {
  const { device, source } = resolveDevice({
    flag: opts.device,
    spec: job.spec.worker.device,
    defaultDevice: opts.defaultDevice,
  });
  // Before the first session of the process: onnxruntime reads its default logger's level once, then.
  silenceOnnxruntimeLog();
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // The session's own logger: onnxruntime writes it to stderr as text; batchscore reports what matters itself.
    logSeverityLevel: 4,
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
    // Idle pool threads must not spin: between runs this process decodes and writes Parquet on the same cores
    // (measured on the wide fixture, 2 threads: 85k rows/s without spinning, 65k with).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const uri = job.spec.model.uri;
  if (device !== 'cpu') {
    try {
      return {
        session: await openSession(model, { ...base, executionProviders: ['cuda', 'cpu'] }),
        executionProvider: 'cuda',
      };
    } catch (err) {
      const reason = firstLine(err);
      if (device === 'cuda') {
        throw new BatchscoreError(
          'MODEL_INVALID',
          `${uri}: ${whyCuda(source)}, but the CUDA execution provider cannot load: ${reason}`,
          { cause: err },
        );
      }
      if (!/cuda|provider|shared library|cudnn|cublas|driver/i.test(reason)) {
        throw new BatchscoreError('MODEL_INVALID', `${uri}: not a loadable ONNX model (${reason})`, { cause: err });
      }
      warnOnce(opts.log, `CUDA is not available (${reason}); scoring on CPU`);
    }
  }
  try {
    return {
      session: await openSession(model, { ...base, executionProviders: ['cpu'] }),
      executionProvider: 'cpu',
    };
  } catch (err) {
    throw new BatchscoreError('MODEL_INVALID', `${uri}: not a loadable ONNX model (${firstLine(err)})`, { cause: err });
  }
}

/** A session of a model's bytes, or of its file (a model with external data beside it). */
function openSession(model: Uint8Array | string, options: ort.InferenceSession.SessionOptions) {
  return typeof model === 'string'
    ? ort.InferenceSession.create(model, options)
    : ort.InferenceSession.create(model, options);
}

/** Why the session had to be on CUDA, in the words of the setting to change. */
function whyCuda(source: DeviceSource): string {
  if (source === '--default-device') {
    // The renderer gives GPU jobs' score pods this flag: scoring on CPU would leave the billed GPU idle.
    return (
      'spec.worker.device is unset and this pod runs with --default-device cuda (a GPU ' +
      'job: spec.cluster.gpusPerWorker > 0; set spec.worker.device: auto to allow scoring ' +
      'on CPU)'
    );
  }
  return source === '--device' ? '--device is cuda' : 'spec.worker.device is cuda';
}

let warned = false;
function warnOnce(log: ((line: string) => void) | undefined, line: string) {
  if (warned) return;
  warned = true;
  (log ?? ((l: string) => process.stderr.write(`batchscore: warning: ${l}\n`)))(line);
}

/** The run's binding: checkModelBinding's, failing with every problem at once. */
export function bindModel(
  job: ScoringJob,
  inputMeta: readonly ort.InferenceSession.ValueMetadata[],
  outputMeta: readonly ort.InferenceSession.ValueMetadata[],
  zipMaps: readonly ZipMapOutput[] = [],
): { inputs: BoundInput[]; outputs: BoundOutput[]; fixedBatch?: number } {
  const { inputs, outputs, fixedBatch, problems } = checkModelBinding(job, inputMeta, outputMeta, zipMaps);
  if (problems.length > 0) throw new BatchscoreError('MODEL_INVALID', problems.join('\n'));
  return { inputs, outputs, ...(fixedBatch === undefined ? {} : { fixedBatch }) };
}

/**
 * The model's ZipMap outputs, from its graph. Bytes that do not parse as ONNX are left to onnxruntime to refuse,
 * with its own message.
 */
export function zipMapsOf(bytes: Uint8Array): ZipMapOutput[] {
  try {
    return findZipMaps(parseOnnxGraph(bytes));
  } catch {
    return [];
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}
