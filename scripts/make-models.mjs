#!/usr/bin/env node
// Generates the ONNX models used by the demo and the tests, with no dependencies
// beyond Node built-ins and no network access.
//
//   node scripts/make-models.mjs [outputRoot]
//
// outputRoot defaults to the repository root (resolved from this script's location).
// Output is deterministic: running the script twice yields byte-identical files.
//
// Writes:
//   models/credit.onnx                          demo credit-default model
//   test/fixtures/models/two_inputs_f64.onnx    float64 + int64 inputs, for dtype/multi-input tests
//   test/fixtures/models/not_a_model.onnx       garbage bytes, for the bad-model test
//   test/fixtures/models/credit_batch1.onnx     the credit model with a fixed batch dimension of 1
//   test/fixtures/models/credit_batch8.onnx     ... and of 8
//   test/fixtures/models/echo_<dtype>.onnx      y = Identity(x), x and y <dtype> [N, K], for every input dtype
//   test/fixtures/models/echo_all.onnx          y_<dtype> = Identity(x_<dtype>) [N, 1] for every dtype at once
//   test/fixtures/models/out_batch1.onnx        y declared [N, 2] but computed [1, 2] (a hard-coded batch of 1)
//   test/fixtures/models/out_rank3.onnx         y declared [N, 2] but computed [N, 2, 2]
//   test/fixtures/models/external/              the credit model with its weights as ONNX external data: the
//                                               graph, credit_external.onnx.data and weights/gemm.bin beside it
//
// The protobuf encoder below covers only the subset of onnx.proto needed here.
// Field numbers (onnx/onnx.proto, proto2 syntax):
//   ModelProto:            ir_version=1 producer_name=2 producer_version=3 doc_string=6
//                          graph=7 opset_import=8 metadata_props=14
//   OperatorSetIdProto:    domain=1 version=2
//   StringStringEntryProto key=1 value=2
//   GraphProto:            node=1 name=2 initializer=5 doc_string=10 input=11 output=12
//   NodeProto:             input=1 output=2 name=3 op_type=4 attribute=5 domain=7
//   AttributeProto:        name=1 f=2 i=3 s=4 ints=8 type=20
//   TensorProto:           dims=1 data_type=2 name=8 raw_data=9 external_data=13 data_location=14 (EXTERNAL=1)
//   ValueInfoProto:        name=1 type=2
//   TypeProto:             tensor_type=1 ; TypeProto.Tensor: elem_type=1 shape=2
//   TensorShapeProto:      dim=1 ; Dimension: dim_value=1 dim_param=2

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------
// Minimal protobuf writer
// ---------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Encodes an unsigned/int64 varint. Negative numbers use 10-byte two's complement. */
function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Buffer.from(out);
}

const key = (field, wire) => varint((field << 3) | wire);

/** A message is a list of already-encoded fields; concat at the end. */
class Msg {
  constructor() {
    this.parts = [];
  }
  int(field, value) {
    if (value === undefined) return this;
    this.parts.push(key(field, WIRE_VARINT), varint(value));
    return this;
  }
  ints(field, values) {
    // Unpacked repeated encoding (onnx.proto is proto2; parsers accept both forms).
    for (const v of values) this.int(field, v);
    return this;
  }
  float(field, value) {
    if (value === undefined) return this;
    const b = Buffer.alloc(4);
    b.writeFloatLE(value, 0);
    this.parts.push(key(field, WIRE_I32), b);
    return this;
  }
  bytes(field, value) {
    if (value === undefined) return this;
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    this.parts.push(key(field, WIRE_LEN), varint(buf.length), buf);
    return this;
  }
  str(field, value) {
    return this.bytes(field, value);
  }
  strs(field, values) {
    for (const v of values) this.str(field, v);
    return this;
  }
  msg(field, message) {
    if (message === undefined) return this;
    return this.bytes(field, message.encode());
  }
  msgs(field, messages) {
    for (const m of messages) this.msg(field, m);
    return this;
  }
  encode() {
    return Buffer.concat(this.parts);
  }
}

// ---------------------------------------------------------------------------
// ONNX builders
// ---------------------------------------------------------------------------

/** TensorProto.DataType */
const DT = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
};
/** AttributeProto.AttributeType */
const AT = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 };

function tensor(name, dataType, dims, values) {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== values.length) throw new Error(`tensor ${name}: dims ${dims} vs ${values.length} values`);
  return new Msg().ints(1, dims).int(2, dataType).str(8, name).bytes(9, tensorRaw(dataType, values));
}

function tensorRaw(dataType, values) {
  let raw;
  switch (dataType) {
    case DT.FLOAT:
      raw = Buffer.alloc(values.length * 4);
      values.forEach((v, i) => raw.writeFloatLE(v, i * 4));
      break;
    case DT.DOUBLE:
      raw = Buffer.alloc(values.length * 8);
      values.forEach((v, i) => raw.writeDoubleLE(v, i * 8));
      break;
    case DT.INT64:
      raw = Buffer.alloc(values.length * 8);
      values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), i * 8));
      break;
    default:
      throw new Error(`unsupported data type ${dataType}`);
  }
  return raw;
}

/**
 * The same tensor with its bytes in a file beside the model (ONNX external data): `file` collects the files' bytes
 * by location, each tensor appended at the next offset.
 */
function externalTensor(files, location, name, dataType, dims, values) {
  const raw = tensorRaw(dataType, values);
  const before = files.get(location) ?? Buffer.alloc(0);
  files.set(location, Buffer.concat([before, raw]));
  const entry = (k, v) => new Msg().str(1, k).str(2, v);
  return new Msg()
    .ints(1, dims)
    .int(2, dataType)
    .str(8, name)
    .msgs(13, [
      entry('location', location),
      entry('offset', String(before.length)),
      entry('length', String(raw.length)),
    ])
    .int(14, 1);
}

/** attrs: { name: number | string | number[] }; numbers are INT unless wrapped with f(). */
const f = (value) => ({ float: value });

function attribute(name, value) {
  const a = new Msg().str(1, name);
  if (typeof value === 'object' && value !== null && 'float' in value) {
    a.float(2, value.float).int(20, AT.FLOAT);
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    a.int(3, value).int(20, AT.INT);
  } else if (typeof value === 'string') {
    a.str(4, value).int(20, AT.STRING);
  } else if (Array.isArray(value)) {
    a.ints(8, value).int(20, AT.INTS);
  } else {
    throw new Error(`unsupported attribute ${name}`);
  }
  return a;
}

function node(opType, inputs, outputs, name, attrs = {}) {
  return new Msg()
    .strs(1, inputs)
    .strs(2, outputs)
    .str(3, name)
    .str(4, opType)
    .msgs(
      5,
      Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    );
}

/** dims: entries are numbers (dim_value) or strings (dim_param). */
function valueInfo(name, elemType, dims) {
  const shape = new Msg().msgs(
    1,
    dims.map((d) => (typeof d === 'string' ? new Msg().str(2, d) : new Msg().int(1, d))),
  );
  const tensorType = new Msg().int(1, elemType).msg(2, shape);
  const type = new Msg().msg(1, tensorType);
  return new Msg().str(1, name).msg(2, type);
}

function graph({ name, doc, nodes, initializers, inputs, outputs }) {
  return new Msg().msgs(1, nodes).str(2, name).msgs(5, initializers).str(10, doc).msgs(11, inputs).msgs(12, outputs);
}

const IR_VERSION = 8; // ONNX 1.12+, pairs with opset 17
const OPSET = 17;
const PRODUCER = 'batchscore-make-models';
const PRODUCER_VERSION = '1.0.0';

function model({ graph: g, doc, metadata = {} }) {
  const opset = new Msg().str(1, '').int(2, OPSET);
  return new Msg()
    .int(1, IR_VERSION)
    .str(2, PRODUCER)
    .str(3, PRODUCER_VERSION)
    .str(6, doc)
    .msg(7, g)
    .msg(8, opset)
    .msgs(
      14,
      Object.entries(metadata).map(([k, v]) => new Msg().str(1, k).str(2, v)),
    )
    .encode();
}

// ---------------------------------------------------------------------------
// Model 1: credit-default logistic model
// ---------------------------------------------------------------------------

// Exported numbers (also documented in the doc_string and metadata).
export const CREDIT = {
  features: ['age', 'income', 'credit', 'loan'],
  mean: [38, 55000, 680, 18000],
  std: [12, 55000, 80, 18000],
  // class-1 (default) logit = sum(w * z) + bias ; class-0 logit = 0
  weights: [-0.35, -0.9, -1.1, 0.95],
  bias: -1.0,
};

/**
 * batch: 'N' (any number of rows), or a fixed batch dimension, as some exporters write. external: a Map that
 * receives the bytes of the files the tensors are moved to (ONNX external data), by location.
 */
function creditModel(batch = 'N', external = undefined) {
  const { features, mean, std, weights, bias } = CREDIT;
  // Gemm: Y = Z[N,4] x W[4,2] + C[2]; column 0 -> class 0 (all zeros), column 1 -> class 1.
  const W = [];
  for (const w of weights) W.push(0, w);
  const C = [0, bias];

  const g = graph({
    name: 'credit_default',
    doc: 'Standardize [age, income, credit, loan], logistic score, softmax over {no_default, default}.',
    nodes: [
      node('Sub', ['features', 'feature_mean'], ['centered'], 'standardize_sub'),
      node('Div', ['centered', 'feature_std'], ['z'], 'standardize_div'),
      node('Gemm', ['z', 'weights', 'bias'], ['logits'], 'score', { alpha: f(1), beta: f(1), transA: 0, transB: 0 }),
      node('Softmax', ['logits'], ['probabilities'], 'softmax', { axis: 1 }),
      node('ArgMax', ['logits'], ['label'], 'argmax', { axis: 1, keepdims: 0 }),
    ],
    initializers: external
      ? [
          externalTensor(external, 'credit_external.onnx.data', 'feature_mean', DT.FLOAT, [4], mean),
          externalTensor(external, 'credit_external.onnx.data', 'feature_std', DT.FLOAT, [4], std),
          externalTensor(external, 'weights/gemm.bin', 'weights', DT.FLOAT, [4, 2], W),
          externalTensor(external, 'weights/gemm.bin', 'bias', DT.FLOAT, [2], C),
        ]
      : [
          tensor('feature_mean', DT.FLOAT, [4], mean),
          tensor('feature_std', DT.FLOAT, [4], std),
          tensor('weights', DT.FLOAT, [4, 2], W),
          tensor('bias', DT.FLOAT, [2], C),
        ],
    inputs: [valueInfo('features', DT.FLOAT, [batch, 4])],
    outputs: [valueInfo('probabilities', DT.FLOAT, [batch, 2]), valueInfo('label', DT.INT64, [batch])],
  });

  const signed = (v, first) => (v < 0 ? (first ? '-' : ' - ') : first ? '' : ' + ') + Math.abs(v);
  const terms = weights.map((w, i) => `${signed(w, i === 0)}*z_${features[i]}`).join('');
  const formula =
    `p(default) = sigmoid(${terms}${signed(bias, false)}), ` +
    `z = (x - mean) / std, ` +
    `mean = [${mean.join(', ')}], std = [${std.join(', ')}]`;

  return model({
    graph: g,
    doc:
      (batch === 'N' ? '' : `Test fixture: the credit model with its batch dimension fixed at ${batch}. `) +
      (external ? 'Test fixture: the credit model with its weights in external data files. ' : '') +
      'batchscore demo credit-default model (synthetic, for demonstration only). ' +
      'Input "features" float32 [N,4] with columns age, income, credit, loan. ' +
      'Outputs "probabilities" float32 [N,2] (index 1 = probability of default) and "label" int64 [N]. ' +
      formula,
    metadata: {
      'batchscore.features': features.join(','),
      'batchscore.input': 'features',
      'batchscore.outputs': 'probabilities,label',
      'batchscore.classes': 'no_default,default',
      'batchscore.positive_class': '1',
      'batchscore.formula': formula,
    },
  });
}

// ---------------------------------------------------------------------------
// Model 2: two inputs, float64 + int64, for dtype-casting tests
// ---------------------------------------------------------------------------

function twoInputsModel() {
  const g = graph({
    name: 'two_inputs_f64',
    doc: 'y = concat(a[:,0] + a[:,1], a[:,0] * 2, cast(b, float64)) along axis 1.',
    nodes: [
      node('Slice', ['a', 'col0_start', 'col0_end', 'axis1'], ['a0'], 'slice_a0'),
      node('Slice', ['a', 'col1_start', 'col1_end', 'axis1'], ['a1'], 'slice_a1'),
      node('Add', ['a0', 'a1'], ['sum'], 'add'),
      node('Mul', ['a0', 'two'], ['double_a0'], 'mul'),
      node('Cast', ['b'], ['b_f64'], 'cast_b', { to: DT.DOUBLE }),
      node('Concat', ['sum', 'double_a0', 'b_f64'], ['y'], 'concat', { axis: 1 }),
    ],
    initializers: [
      tensor('col0_start', DT.INT64, [1], [0]),
      tensor('col0_end', DT.INT64, [1], [1]),
      tensor('col1_start', DT.INT64, [1], [1]),
      tensor('col1_end', DT.INT64, [1], [2]),
      tensor('axis1', DT.INT64, [1], [1]),
      tensor('two', DT.DOUBLE, [1], [2]),
    ],
    inputs: [valueInfo('a', DT.DOUBLE, ['N', 2]), valueInfo('b', DT.INT64, ['N', 1])],
    outputs: [valueInfo('y', DT.DOUBLE, ['N', 3])],
  });
  return model({
    graph: g,
    doc: 'Test fixture: inputs a float64 [N,2], b int64 [N,1]; output y float64 [N,3] = [a0+a1, 2*a0, float64(b)].',
    metadata: { 'batchscore.fixture': 'two_inputs_f64' },
  });
}

// ---------------------------------------------------------------------------
// Echo models: y = Identity(x), one per input dtype, so the published column is what the model was fed
// ---------------------------------------------------------------------------

/** The dtypes a model input may have, as batchscore names them, with their ONNX element types. */
export const ECHO_DTYPES = {
  float16: DT.FLOAT16,
  float32: DT.FLOAT,
  float64: DT.DOUBLE,
  int8: DT.INT8,
  int16: DT.INT16,
  int32: DT.INT32,
  int64: DT.INT64,
  uint8: DT.UINT8,
  uint16: DT.UINT16,
  uint32: DT.UINT32,
  uint64: DT.UINT64,
  bool: DT.BOOL,
  string: DT.STRING,
};

function echoModel(dtype) {
  const type = ECHO_DTYPES[dtype];
  return model({
    graph: graph({
      name: `echo_${dtype}`,
      doc: `y = x, ${dtype} [N, K].`,
      nodes: [node('Identity', ['x'], ['y'], 'echo')],
      initializers: [],
      inputs: [valueInfo('x', type, ['N', 'K'])],
      outputs: [valueInfo('y', type, ['N', 'K'])],
    }),
    doc: `Test fixture: input x ${dtype} [N, K]; output y = x. What a run publishes is what the model was fed.`,
    metadata: { 'batchscore.fixture': `echo_${dtype}` },
  });
}

/** Every dtype at once: one run feeds a column to each input (x_float16 ... x_string) and publishes each echo. */
function echoAllModel() {
  const dtypes = Object.keys(ECHO_DTYPES);
  return model({
    graph: graph({
      name: 'echo_all',
      doc: 'y_<dtype> = x_<dtype>, [N, 1], for every input dtype.',
      nodes: dtypes.map((d) => node('Identity', [`x_${d}`], [`y_${d}`], `echo_${d}`)),
      initializers: [],
      inputs: dtypes.map((d) => valueInfo(`x_${d}`, ECHO_DTYPES[d], ['N', 1])),
      outputs: dtypes.map((d) => valueInfo(`y_${d}`, ECHO_DTYPES[d], ['N', 1])),
    }),
    doc: `Test fixture: inputs x_<dtype> [N, 1] for ${dtypes.join(', ')}; outputs y_<dtype> = x_<dtype>.`,
    metadata: { 'batchscore.fixture': 'echo_all' },
  });
}

// ---------------------------------------------------------------------------
// Models whose outputs break their declared shapes (onnxruntime returns what the graph computes)
// ---------------------------------------------------------------------------

/** y declared [N, 2], computed as the column sums of x: [1, 2], as an exporter that hard-codes a batch of 1. */
function outBatch1Model() {
  return model({
    graph: graph({
      name: 'out_batch1',
      doc: 'y = ReduceSum(x, axis 0, keepdims): [1, 2], declared [N, 2].',
      nodes: [node('ReduceSum', ['x', 'axis0'], ['y'], 'sum_rows', { keepdims: 1 })],
      initializers: [tensor('axis0', DT.INT64, [1], [0])],
      inputs: [valueInfo('x', DT.FLOAT, ['N', 2])],
      outputs: [valueInfo('y', DT.FLOAT, ['N', 2])],
    }),
    doc: 'Test fixture: input x float32 [N, 2]; output y declared [N, 2] but computed [1, 2].',
    metadata: { 'batchscore.fixture': 'out_batch1' },
  });
}

/** y declared [N, 2], computed [N, 2, 2]: twice the values the declared shape has room for. */
function outRank3Model() {
  return model({
    graph: graph({
      name: 'out_rank3',
      doc: 'y = Concat(Unsqueeze(x, 2), Unsqueeze(x, 2), axis 2): [N, 2, 2], declared [N, 2].',
      nodes: [
        node('Unsqueeze', ['x', 'axis2'], ['u'], 'unsqueeze'),
        node('Concat', ['u', 'u'], ['y'], 'concat', { axis: 2 }),
      ],
      initializers: [tensor('axis2', DT.INT64, [1], [2])],
      inputs: [valueInfo('x', DT.FLOAT, ['N', 2])],
      outputs: [valueInfo('y', DT.FLOAT, ['N', 2])],
    }),
    doc: 'Test fixture: input x float32 [N, 2]; output y declared [N, 2] but computed [N, 2, 2].',
    metadata: { 'batchscore.fixture': 'out_rank3' },
  });
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

const scriptDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(scriptDir, '..');

function main() {
  const root = resolve(process.argv[2] ?? repoRoot);
  const outputs = [
    ['models/credit.onnx', creditModel()],
    ['test/fixtures/models/two_inputs_f64.onnx', twoInputsModel()],
    ['test/fixtures/models/not_a_model.onnx', Buffer.from('this is not an onnx model\n', 'utf8')],
    ['test/fixtures/models/credit_batch1.onnx', creditModel(1)],
    ['test/fixtures/models/credit_batch8.onnx', creditModel(8)],
    ...Object.keys(ECHO_DTYPES).map((d) => [`test/fixtures/models/echo_${d}.onnx`, echoModel(d)]),
    ['test/fixtures/models/echo_all.onnx', echoAllModel()],
    ['test/fixtures/models/out_batch1.onnx', outBatch1Model()],
    ['test/fixtures/models/out_rank3.onnx', outRank3Model()],
  ];
  const external = new Map();
  outputs.push(['test/fixtures/models/external/credit_external.onnx', creditModel('N', external)]);
  for (const [location, bytes] of external) outputs.push([`test/fixtures/models/external/${location}`, bytes]);
  for (const [rel, bytes] of outputs) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    const sha = createHash('sha256').update(bytes).digest('hex');
    console.log(`${relative(process.cwd(), path) || path}  ${bytes.length} bytes  sha256 ${sha}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
