export * from './names.js';
export * from './renderWorkflowSpec.js';
export * from './renderWorkflow.js';
export * from './toYaml.js';
export * from './renderBackfill.js';
export * from './toChartDefaults.js';
export * from './toHelmValuesSchema.js';
