export * from './kubeClient.js';
export * from './submitWorkflow.js';
export * from './watchWorkflow.js';
export * from './backfill.js';
export * from './namespace.js';
export * from './loadKubeconfigList.js';
export * from './refreshSchedules.js';
