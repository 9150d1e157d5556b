export * from './names.js';
export * from './renderWorkflowSpec.js';
export * from './renderWorkflow.js';
export * from './toYaml.js';
