import { EXECUTION_STATUS_IN } from './orchestratorShapes';

/**
 * The workflow orchestrator's routes (orchestrator.ts) in the OpenAPI document: its paths, verbs,
 * body shapes and error codes as it documented them. These routes are a compatibility surface
 * whose shapes are the orchestrator's, not the schema's, so they are described here once, beside
 * the routes that serve them; test/rest/orchestratorOpenApi.test.ts checks real answers of every
 * route against these schemas.
 */

type Json = Record<string, unknown>;

export type OrchestratorResource = 'workflow' | 'execution';

/** The orchestrator's routes: the path as OpenAPI writes it, its verbs, and what each does. */
export const ORCHESTRATOR_ROUTES: readonly {
  path: string;
  resource: OrchestratorResource;
  operations: Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', { id: string; summary: string }>>;
}[] = [
  {
    path: '/api/workflows',
    resource: 'workflow',
    operations: {
      GET: { id: 'orchestratorListWorkflows', summary: 'Lists the tenant’s workflows, newest first.' },
      POST: { id: 'orchestratorCreateWorkflow', summary: 'Creates a workflow (ACTIVE unless `status`).' },
    },
  },
  {
    path: '/api/workflows/{id}',
    resource: 'workflow',
    operations: {
      GET: { id: 'orchestratorGetWorkflow', summary: 'One workflow.' },
      PUT: {
        id: 'orchestratorUpdateWorkflow',
        summary: 'Changes the given fields (a new version); `status` activates or deactivates it.',
      },
      DELETE: { id: 'orchestratorDeleteWorkflow', summary: 'Deletes a workflow; answers what was removed.' },
    },
  },
  {
    path: '/api/executions',
    resource: 'execution',
    operations: {
      GET: { id: 'orchestratorListExecutions', summary: 'Lists executions, newest first.' },
      POST: { id: 'orchestratorCreateExecution', summary: 'Starts an execution of an ACTIVE workflow.' },
    },
  },
  {
    path: '/api/executions/{id}',
    resource: 'execution',
    operations: { GET: { id: 'orchestratorGetExecution', summary: 'One execution.' } },
  },
  {
    path: '/api/executions/{id}/cancel',
    resource: 'execution',
    operations: { POST: { id: 'orchestratorCancelExecution', summary: 'Cancels a running execution.' } },
  },
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string) => ({ type: [type, 'null'] });
const instant = { type: 'string', format: 'date-time' };

/** The orchestrator's shapes, named `Orchestrator*` beside the schema's own. */
export const ORCHESTRATOR_SCHEMAS: Record<string, Json> = {
  OrchestratorStep: {
    type: 'object',
    required: ['id', 'type', 'config', 'order'],
    properties: {
      id: { type: 'string', examples: ['fetch'] },
      type: { type: 'string', examples: ['http-request'] },
      config: { type: 'object', description: 'The step’s settings (docs/workflows.md has each type’s).' },
      order: { type: 'number', description: 'Steps run in ascending order.' },
    },
  },
  OrchestratorTrigger: {
    description: 'A trigger name (`manual`, `webhook`, `schedule`, `change-approved`) or one with settings.',
    oneOf: [
      { type: 'string', examples: ['webhook', 'schedule'] },
      { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
    ],
  },
  OrchestratorWorkflow: {
    type: 'object',
    required: [
      'id',
      'tenantId',
      'name',
      'description',
      'steps',
      'triggers',
      'status',
      'createdAt',
      'updatedAt',
    ],
    properties: {
      id: { type: 'string' },
      tenantId: { type: 'string' },
      name: { type: 'string' },
      description: nullable('string'),
      steps: { type: 'array', items: ref('OrchestratorStep') },
      triggers: { type: 'array', items: ref('OrchestratorTrigger') },
      status: { type: 'string', enum: ['active', 'inactive'] },
      createdAt: instant,
      updatedAt: instant,
    },
  },
  OrchestratorWorkflowInput: {
    type: 'object',
    description: 'A create needs `name` and `steps` (else WORKFLOW-001); an update takes any of the fields.',
    properties: {
      tenantId: { type: 'string', description: 'Optional; must be the caller’s own tenant.' },
      name: { type: 'string' },
      description: { type: 'string' },
      steps: { type: 'array', items: ref('OrchestratorStep') },
      triggers: { type: 'array', items: ref('OrchestratorTrigger') },
      status: { type: 'string', enum: ['active', 'inactive'] },
    },
  },
  OrchestratorExecution: {
    type: 'object',
    required: [
      'id',
      'workflowId',
      'status',
      'inputs',
      'outputs',
      'error',
      'trigger',
      'startedAt',
      'completedAt',
      'createdAt',
      'updatedAt',
    ],
    properties: {
      id: { type: 'string' },
      workflowId: { type: 'string' },
      status: { type: 'string', enum: Object.keys(EXECUTION_STATUS_IN) },
      inputs: { type: 'object' },
      outputs: { description: 'What its steps produced (null until it ends).' },
      error: nullable('string'),
      trigger: { type: 'string', examples: ['manual', 'webhook', 'schedule'] },
      startedAt: { type: ['string', 'null'], format: 'date-time' },
      completedAt: {
        type: ['string', 'null'],
        format: 'date-time',
        description: 'When it ended, whatever the outcome.',
      },
      createdAt: instant,
      updatedAt: instant,
    },
  },
  OrchestratorExecutionInput: {
    type: 'object',
    required: ['workflowId'],
    properties: {
      tenantId: { type: 'string', description: 'Optional; must be the caller’s own tenant.' },
      workflowId: { type: 'string' },
      inputs: { type: 'object', description: 'What the steps read as `inputs.*`.' },
    },
  },
  OrchestratorError: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: {
            type: 'string',
            description:
              'WORKFLOW-001 missing required fields, WORKFLOW-002 workflow not found, WORKFLOW-003 invalid ' +
              'workflow data, EXECUTION-001 execution creation failed, EXECUTION-002 execution not found, ' +
              'EXECUTION-003 invalid execution data; who may call and how often keep our codes ' +
              '(UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED…).',
            examples: ['WORKFLOW-002'],
          },
          message: { type: 'string' },
          details: { type: 'object' },
        },
      },
    },
  },
};

const list = (item: string) => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: { items: { type: 'array', items: ref(item) }, nextCursor: nullable('string') },
});

const json = (schema: Json) => ({ content: { 'application/json': { schema } } });

const ERRORS: Record<string, string> = {
  '400': 'Invalid data or missing fields (WORKFLOW-001, WORKFLOW-003, EXECUTION-003).',
  '401': 'No valid credential (UNAUTHENTICATED).',
  '403': 'The caller’s roles or tenant do not allow it (FORBIDDEN).',
  '404': 'Not found (WORKFLOW-002, EXECUTION-002).',
  '409': 'The state does not allow it (e.g. WORKFLOW-003 for a name in use).',
  '429': 'Too many requests (RATE_LIMITED).',
};

/** The orchestrator's paths of the OpenAPI document. */
export function orchestratorPaths(): Record<string, Record<string, Json>> {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ORCHESTRATOR_ROUTES) {
    const one = route.resource === 'workflow' ? 'OrchestratorWorkflow' : 'OrchestratorExecution';
    const input = route.resource === 'workflow' ? 'OrchestratorWorkflowInput' : 'OrchestratorExecutionInput';
    const operations: Record<string, Json> = {};
    for (const [method, op] of Object.entries(route.operations)) {
      const listing = method === 'GET' && !route.path.includes('{id}');
      const parameters: Json[] = [];
      if (route.path.includes('{id}')) {
        parameters.push({ name: 'id', in: 'path', required: true, schema: { type: 'string' } });
      }
      if (listing) {
        parameters.push(
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'A nextCursor.' },
          {
            name: 'status',
            in: 'query',
            schema: {
              type: 'string',
              enum: route.resource === 'workflow' ? ['active', 'inactive'] : Object.keys(EXECUTION_STATUS_IN),
            },
          },
          ...(route.resource === 'execution'
            ? [{ name: 'workflowId', in: 'query', schema: { type: 'string' } }]
            : []),
        );
      }
      const withBody = (method === 'POST' || method === 'PUT') && !route.path.endsWith('/cancel');
      const created = method === 'POST' && !route.path.endsWith('/cancel');
      operations[method.toLowerCase()] = {
        operationId: op.id,
        summary: op.summary,
        description: `${op.summary} The workflow orchestrator's route, served as it documented it (docs/rest.md).`,
        tags: ['orchestrator'],
        ...(parameters.length ? { parameters } : {}),
        ...(withBody ? { requestBody: { required: true, ...json(ref(input)) } } : {}),
        responses: {
          [created ? '201' : '200']: {
            description: listing
              ? 'A page: `items` and the `nextCursor` of the next one (null at the end).'
              : 'OK',
            ...json(listing ? list(one) : ref(one)),
          },
          ...Object.fromEntries(
            Object.entries(ERRORS).map(([status, description]) => [
              status,
              { description, ...json(ref('OrchestratorError')) },
            ]),
          ),
        },
      };
    }
    paths[route.path] = operations;
  }
  return paths;
}
