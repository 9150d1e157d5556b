export * from './names.js';
export * from './renderWorkflowSpec.js';
export * from './renderWorkflow.js';
export * from './renderBackfill.js';
export * from './toChartDefaults.js';
export * from './toHelmValuesSchema.js';
// Argo's own types (generated from its schema.json), as a namespace: `argo.Workflow`, `argo.Container`. Their
// ~200 names (Volume, Metrics, ...) would otherwise crowd this package's exports.
export type * as argo from './argoTypes.js';
