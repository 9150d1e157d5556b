export * from './listInput.js';
export * from './planShards.js';
export * from './createPlan.js';
export * from './inputFormats.js';
export * from './render/index.js';
export * from './kube/index.js';
