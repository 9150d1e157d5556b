export * from './loadModel.js';
export * from './scoreShard.js';
export * from './readShard.js';
export * from './readLines.js';
export * from './toTensors.js';
export * from './toColumns.js';
export * from './infer.js';
export * from './calibrate.js';
