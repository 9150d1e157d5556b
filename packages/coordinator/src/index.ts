export * from './listInput.js';
export * from './planShards.js';
export * from './createPlan.js';
export * from './inputFormats.js';
export * from './checkInputColumns.js';
export * from './checkInput.js';
export * from './checkModelFile.js';
export * from './checkShardCount.js';
export * from './render/index.js';
export * from './modelIdentity.js';
export * from './prepareRepair.js';
// The Kubernetes client (~0.5 s to import) lives at '@batchscore/coordinator/kube'.
