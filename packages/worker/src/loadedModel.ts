import type ort from 'onnxruntime-node';

/** A model as loadModel binds it to a job: the session, and its inputs and outputs by the job's columns. */

export type { InputDType } from './inputDTypes.js';
import type { InputDType } from './inputDTypes.js';
export type OutputDType =
  | 'float16'
  | 'float32'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

export interface BoundInput {
  name: string;
  dtype: InputDType;
  columns: string[];
  /** 1-D model inputs take one column as [rows]; 2-D ones take columns stacked as [rows, columns]. */
  rank: 1 | 2;
}
export interface BoundOutput {
  name: string;
  dtype: OutputDType;
  column: string;
  index?: number;
}
export interface LoadedModel {
  session: ort.InferenceSession;
  /** The inference batch size this process settled on (see infer.ts). */
  tuning?: BatchTuning;
  inputs: BoundInput[];
  outputs: BoundOutput[];
  executionProvider: string;
  /** The onnxruntime that runs the session (its common library's version). */
  onnxruntimeVersion: string;
  /** Rows per run when the model's batch dimension is a number, not a name: every run must have exactly this many. */
  fixedBatch?: number;
}

/** Per-process state of the inference batch size: measured once, then kept for every later shard. */
export interface BatchTuning {
  size?: number;
  trials: { size: number; rowsPerS: number }[];
  /** The trial being timed: rows and milliseconds so far. */
  pending?: { size: number; rows: number; ms: number };
  /** Largest size that ran without running out of memory. */
  ceiling: number;
}
