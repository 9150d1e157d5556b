/** Every tensor element type onnxruntime-node feeds: batchscore casts columns to each (castInto). */
export const INPUT_DTYPES = [
  'float16',
  'float32',
  'float64',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
] as const;
export type InputDType = (typeof INPUT_DTYPES)[number];
