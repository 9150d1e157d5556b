/** What Argo's exit handler passes record-failure and notify about the Workflow. */
export const OUTCOME_OPTIONS = {
  'job-json': { type: 'string', value: 'JSON', help: 'The job inline, instead of a file.' },
  date: { type: 'string', value: 'YYYY-MM-DD', help: "The run's date (default: today, UTC)." },
  workflow: { type: 'string', value: 'NAME', help: "The Workflow's name ({{workflow.name}})." },
  status: { type: 'string', value: 'S', help: "The Workflow's status ({{workflow.status}})." },
  failures: { type: 'string', value: 'JSON', help: 'The failed nodes ({{workflow.failures}}).' },
} as const;
