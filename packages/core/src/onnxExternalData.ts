import { protobufFields } from './protobuf.js';

/** A tensor whose bytes an ONNX model keeps in a file beside it (TensorProto.data_location = EXTERNAL). */
export interface ExternalTensor {
  /** The tensor's name, for messages. */
  tensor: string;
  /** The file, relative to the model's folder, as the model names it (external_data "location"). */
  location: string;
}

// Field numbers of onnx.proto: every message a TensorProto can sit in, down to the tensors themselves.
const MODEL = { graph: 7, trainingInfo: 20, functions: 25 } as const;
const TRAINING_INFO = { initialization: 1, algorithm: 2 } as const;
const FUNCTION = { node: 7 } as const;
const GRAPH = { node: 1, initializer: 5, sparseInitializer: 15 } as const;
const NODE = { attribute: 5 } as const;
const ATTRIBUTE = { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 } as const;
const SPARSE = { values: 1, indices: 2 } as const;
const TENSOR = { name: 8, externalData: 13, dataLocation: 14 } as const;
const ENTRY = { key: 1, value: 2 } as const;
const EXTERNAL = 1;

type Kind = 'model' | 'trainingInfo' | 'function' | 'graph' | 'node' | 'attribute' | 'sparse' | 'tensor';
/** Which fields of each message hold which messages. */
const CHILDREN: Record<Exclude<Kind, 'tensor'>, Record<number, Kind>> = {
  model: { [MODEL.graph]: 'graph', [MODEL.trainingInfo]: 'trainingInfo', [MODEL.functions]: 'function' },
  trainingInfo: { [TRAINING_INFO.initialization]: 'graph', [TRAINING_INFO.algorithm]: 'graph' },
  function: { [FUNCTION.node]: 'node' },
  graph: { [GRAPH.node]: 'node', [GRAPH.initializer]: 'tensor', [GRAPH.sparseInitializer]: 'sparse' },
  node: { [NODE.attribute]: 'attribute' },
  attribute: {
    [ATTRIBUTE.t]: 'tensor',
    [ATTRIBUTE.tensors]: 'tensor',
    [ATTRIBUTE.g]: 'graph',
    [ATTRIBUTE.graphs]: 'graph',
    [ATTRIBUTE.sparseTensor]: 'sparse',
    [ATTRIBUTE.sparseTensors]: 'sparse',
  },
  sparse: { [SPARSE.values]: 'tensor', [SPARSE.indices]: 'tensor' },
};

/**
 * Pure: every tensor of a serialized ModelProto whose data is external (initializers, sparse initializers, tensor
 * attributes of nodes, in subgraphs and functions too), in the order the model holds them. Throws RangeError on
 * bytes that are not a model.
 */
export function externalTensors(model: Uint8Array): ExternalTensor[] {
  const out: ExternalTensor[] = [];
  const walk = (bytes: Uint8Array, kind: Kind) => {
    if (kind === 'tensor') {
      const t = tensorOf(bytes);
      if (t) out.push(t);
      return;
    }
    for (const f of protobufFields(bytes)) {
      const child = CHILDREN[kind][f.no];
      if (child && f.value instanceof Uint8Array) walk(f.value, child);
    }
  };
  walk(model, 'model');
  return out;
}

function tensorOf(bytes: Uint8Array): ExternalTensor | undefined {
  const dec = new TextDecoder();
  let name = '';
  let external = false;
  let location: string | undefined;
  for (const f of protobufFields(bytes)) {
    if (f.no === TENSOR.name && f.value instanceof Uint8Array) name = dec.decode(f.value);
    else if (f.no === TENSOR.dataLocation && f.value === EXTERNAL) external = true;
    else if (f.no === TENSOR.externalData && f.value instanceof Uint8Array) {
      let key = '';
      let value = '';
      for (const e of protobufFields(f.value)) {
        if (e.no === ENTRY.key && e.value instanceof Uint8Array) key = dec.decode(e.value);
        else if (e.no === ENTRY.value && e.value instanceof Uint8Array) value = dec.decode(e.value);
      }
      if (key === 'location') location = value;
    }
  }
  if (!external) return undefined;
  return { tensor: name, location: location ?? '' };
}

/**
 * Pure: the key of an external data file below the model's folder (`./w.bin` is `w.bin`), or why it has none: the
 * location must be a relative path inside the model's folder (onnxruntime resolves it against the model file's
 * folder, and batchscore fetches it from the model's store, never from the process's working directory).
 */
export function externalDataKey(location: string): { key: string } | { problem: string } {
  if (location === '') return { problem: 'names no file (its "location" is empty)' };
  if (location.startsWith('/') || /^[A-Za-z]:/.test(location) || location.includes('\\'))
    return { problem: 'is not a relative path' };
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f]/.test(location)) return { problem: 'holds a control character' };
  const segs = location.split('/').filter((s) => s !== '.');
  if (segs.includes('..')) return { problem: 'leaves the model’s folder' };
  if (segs.includes('') || segs.length === 0) return { problem: 'is not a file name' };
  return { key: segs.join('/') };
}
