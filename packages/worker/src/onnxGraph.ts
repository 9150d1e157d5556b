import { protobufFields as fields, protobufVarint as varint } from '@batchscore/core';

/**
 * Just enough of ONNX's protobuf (onnx.proto3) to see a model's graph: its nodes' op types, inputs, outputs and
 * integer/string attributes, and its inputs, outputs and initializers. onnxruntime-node's metadata tells types and
 * shapes but not how outputs are made, and it cannot return a non-tensor output (skl2onnx's ZipMap, a sequence of
 * maps): "Non tensor type is temporarily not supported". Reading the graph finds the tensor a ZipMap is made from.
 */
export interface OnnxNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, { ints: number[]; strings: string[] }>;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: string[];
  outputs: string[];
  initializers: string[];
}

// Field numbers of onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, opType: 4, attribute: 5, domain: 7 } as const;
const ATTRIBUTE = { name: 1, ints: 8, strings: 9 } as const;
const TENSOR_NAME = 8;
const VALUE_INFO_NAME = 1;

/** Pure: the graph of a serialized ModelProto. Throws RangeError on bytes that are not one. */
export function parseOnnxGraph(model: Uint8Array): OnnxGraph {
  const graph: OnnxGraph = { nodes: [], inputs: [], outputs: [], initializers: [] };
  // Protobuf merges repeated occurrences of a message field, so every graph field counts.
  for (const f of fields(model)) {
    if (f.no !== MODEL_GRAPH || !(f.value instanceof Uint8Array)) continue;
    for (const g of fields(f.value)) {
      if (!(g.value instanceof Uint8Array)) continue;
      if (g.no === GRAPH.node) graph.nodes.push(parseNode(g.value));
      else if (g.no === GRAPH.input) graph.inputs.push(stringField(g.value, VALUE_INFO_NAME));
      else if (g.no === GRAPH.output) graph.outputs.push(stringField(g.value, VALUE_INFO_NAME));
      else if (g.no === GRAPH.initializer) graph.initializers.push(stringField(g.value, TENSOR_NAME));
    }
  }
  return graph;
}

/**
 * Pure: the model with more graph outputs, by name (their types left to onnxruntime to infer). Appending a second
 * `graph` field is enough: a protobuf parser merges it into the first, appending to its repeated `output`.
 */
export function withGraphOutputs(model: Uint8Array, names: string[]): Uint8Array {
  const enc = new TextEncoder();
  const outputs = names.map((n) => lengthDelimited(GRAPH.output, lengthDelimited(VALUE_INFO_NAME, enc.encode(n))));
  const graph = lengthDelimited(MODEL_GRAPH, concat(outputs));
  return concat([model, graph]);
}

function parseNode(bytes: Uint8Array): OnnxNode {
  const node: OnnxNode = { opType: '', domain: '', inputs: [], outputs: [], attributes: {} };
  const dec = new TextDecoder();
  for (const f of fields(bytes)) {
    if (!(f.value instanceof Uint8Array)) continue;
    if (f.no === NODE.input) node.inputs.push(dec.decode(f.value));
    else if (f.no === NODE.output) node.outputs.push(dec.decode(f.value));
    else if (f.no === NODE.opType) node.opType = dec.decode(f.value);
    else if (f.no === NODE.domain) node.domain = dec.decode(f.value);
    else if (f.no === NODE.attribute) {
      const a = { name: '', ints: [] as number[], strings: [] as string[] };
      for (const x of fields(f.value)) {
        if (x.no === ATTRIBUTE.name && x.value instanceof Uint8Array) a.name = dec.decode(x.value);
        else if (x.no === ATTRIBUTE.ints) {
          // Packed (one length-delimited run of varints) or one varint a field.
          if (x.value instanceof Uint8Array)
            for (let at = 0; at < x.value.length;) [a.ints[a.ints.length], at] = varint(x.value, at);
          else a.ints.push(x.value);
        } else if (x.no === ATTRIBUTE.strings && x.value instanceof Uint8Array) a.strings.push(dec.decode(x.value));
      }
      node.attributes[a.name] = { ints: a.ints, strings: a.strings };
    }
  }
  return node;
}

function stringField(bytes: Uint8Array, no: number): string {
  for (const f of fields(bytes))
    if (f.no === no && f.value instanceof Uint8Array) return new TextDecoder().decode(f.value);
  return '';
}

function lengthDelimited(no: number, body: Uint8Array): Uint8Array {
  return concat([encodeVarint(no * 8 + 2), encodeVarint(body.length), body]);
}

function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A graph output that a ZipMap node makes, the probability tensor it is made from, and the node's class labels. */
export interface ZipMapOutput {
  output: string;
  source: string;
  labels: (number | string)[];
}

/** Pure: the graph outputs made by ZipMap nodes (skl2onnx's default for classifiers' probabilities). */
export function findZipMaps(graph: OnnxGraph): ZipMapOutput[] {
  const out: ZipMapOutput[] = [];
  for (const n of graph.nodes) {
    if (
      n.opType !== 'ZipMap' ||
      n.inputs.length !== 1 ||
      n.outputs.length !== 1 ||
      !graph.outputs.includes(n.outputs[0]!)
    )
      continue;
    const labels = n.attributes.classlabels_int64s?.ints.length
      ? n.attributes.classlabels_int64s.ints
      : (n.attributes.classlabels_strings?.strings ?? []);
    out.push({ output: n.outputs[0]!, source: n.inputs[0]!, labels });
  }
  return out;
}
