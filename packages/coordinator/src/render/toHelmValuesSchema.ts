/**
 * Pure: the chart's values.schema.json (draft-07, which Helm 3 checks values against at install, upgrade and
 * template). Its `jobs` items are the ScoringJob JSON Schema the spec parser's schema generates, so a job that
 * the chart accepts is one batchscore accepts, field for field.
 */
export function toHelmValuesSchema(jobSchema: Record<string, unknown>): Record<string, unknown> {
  const {
    $schema: _s,
    $id: _id,
    definitions,
    $defs,
    ...job
  } = jobSchema as {
    definitions?: Record<string, unknown>;
    $defs?: Record<string, unknown>;
    [keyword: string]: unknown;
  };
  const dnsLabel = { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' };
  const dnsSubdomain = {
    type: 'string',
    maxLength: 253,
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  };
  const resources = {
    type: 'object',
    additionalProperties: false,
    properties: {
      requests: { $ref: '#/definitions/quantities' },
      limits: { $ref: '#/definitions/quantities' },
    },
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'batchscore chart values',
    type: 'object',
    additionalProperties: false,
    required: ['image', 'resources', 'jobs', 'serviceAccount', 'rbac', 'backfill', 'gpuSemaphore', 'cronHook'],
    properties: {
      global: { description: 'Set by Helm when this chart is a subchart.', type: 'object' },
      fullnameOverride: {
        description:
          'Prefix of the release-wide objects (empty: batchscore); FULLNAME-backfill must stay within the 63 ' +
          'characters of a WorkflowTemplate name.',
        anyOf: [{ const: '' }, { ...dnsLabel, maxLength: 54 }],
      },
      image: {
        type: 'object',
        additionalProperties: false,
        required: ['repository'],
        properties: {
          repository: {
            type: 'string',
            minLength: 1,
            description:
              'Jobs run <repository>:<tag>-gpu (GPU jobs) or <repository>:<tag>-cpu unless spec.cluster.image is set.',
          },
          tag: { type: 'string', description: "Empty: the chart's appVersion." },
          pullPolicy: { enum: ['', 'Always', 'IfNotPresent', 'Never'], description: 'Empty: left unset.' },
        },
      },
      resources: {
        type: 'object',
        additionalProperties: false,
        required: ['worker', 'coordinator'],
        properties: {
          worker: { ...resources, description: 'Score pods of a job without spec.cluster.resources.' },
          coordinator: {
            ...resources,
            description: 'Plan, merge and exit-handler pods of a job without spec.cluster.coordinatorResources.',
          },
        },
      },
      jobs: {
        description: 'Whole ScoringJob documents, as given to batchscore.',
        type: 'array',
        items: { $ref: '#/definitions/scoringJob' },
      },
      serviceAccount: {
        type: 'object',
        additionalProperties: false,
        required: ['create', 'name'],
        properties: {
          create: { type: 'boolean' },
          name: { description: 'Empty: the fullname.', anyOf: [{ const: '' }, { $ref: '#/definitions/dnsSubdomain' }] },
          annotations: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
      rbac: {
        type: 'object',
        additionalProperties: false,
        required: ['create'],
        properties: { create: { type: 'boolean' } },
      },
      backfill: {
        type: 'object',
        additionalProperties: false,
        required: ['create'],
        properties: { create: { type: 'boolean' } },
      },
      gpuSemaphore: {
        type: 'object',
        additionalProperties: false,
        required: ['create', 'name', 'workers'],
        properties: {
          create: { type: 'boolean' },
          name: {
            description: 'Empty: FULLNAME-gpu.',
            anyOf: [{ const: '' }, { $ref: '#/definitions/dnsSubdomain' }],
          },
          workers: { description: 'Most GPU score pods at once, across all workflows.', type: 'integer', minimum: 1 },
        },
      },
      cronHook: {
        type: 'object',
        additionalProperties: false,
        required: ['enabled'],
        properties: {
          enabled: { type: 'boolean' },
          nodeSelector: { type: 'object', additionalProperties: { type: 'string' } },
          tolerations: { type: 'array', items: { type: 'object' } },
        },
      },
    },
    definitions: {
      ...(definitions ?? {}),
      ...($defs ?? {}),
      dnsSubdomain,
      quantities: {
        type: 'object',
        additionalProperties: {
          type: ['string', 'number'],
          pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?$',
        },
      },
      scoringJob: job,
    },
  };
}
