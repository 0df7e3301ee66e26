/** Where the REST API generated from the schema is served. */
export const REST_BASE = '/api/v1';

export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Where a root field is served (SOFA's `routes` option). */
export interface RouteConfig {
  method: Verb;
  path: string;
  tags: string[];
  description?: string;
}
const at = (method: Verb, path: string, tag: string): RouteConfig => ({ method, path, tags: [tag] });

/** `POST /changes/:id/<action>` for each lifecycle mutation of a change. */
const CHANGE_ACTIONS = {
  submitChange: 'submit',
  assessRisk: 'assess-risk',
  approveChange: 'approve',
  rejectChange: 'reject',
  scheduleChange: 'schedule',
  startImplementation: 'start-implementation',
  completeChange: 'complete',
  failChange: 'fail',
  rollBackChange: 'roll-back',
  cancelChange: 'cancel',
  emergencyOverride: 'emergency-override',
  completeEmergencyReview: 'complete-emergency-review',
} as const;

/**
 * Resource-style paths for the root fields integrators use (SOFA's defaults are the field names in
 * kebab case: `POST /create-change-request`). Every other root field keeps its generated default
 * path; nothing here adds behaviour, each entry only names where a field is served. Path
 * parameters are the field's arguments of the same name; the other arguments come from the query
 * string (GET, DELETE) or the JSON body (POST, PUT, PATCH), named as in the schema.
 */
export const REST_ROUTES: Record<string, RouteConfig> = {
  'Query.changes': at('GET', '/changes', 'changes'),
  'Query.change': at('GET', '/changes/:id', 'changes'),
  'Query.changeReview': at('GET', '/changes/:id/review', 'approvals'),
  'Mutation.createChangeRequest': at('POST', '/changes', 'changes'),
  'Mutation.updateChangeRequest': at('PATCH', '/changes/:id', 'changes'),
  ...Object.fromEntries(
    Object.entries(CHANGE_ACTIONS).map(([field, action]) => [
      `Mutation.${field}`,
      at('POST', `/changes/:id/${action}`, field.endsWith('eChange') ? 'approvals' : 'changes'),
    ]),
  ),
  'Query.auditLog': at('GET', '/audit-events', 'audit'),
  'Query.freezeWindows': at('GET', '/freeze-windows', 'freeze-windows'),
  'Mutation.createFreezeWindow': at('POST', '/freeze-windows', 'freeze-windows'),
  'Mutation.deleteFreezeWindow': at('DELETE', '/freeze-windows/:id', 'freeze-windows'),
  'Query.services': at('GET', '/services', 'services'),
  'Mutation.tagService': at('PUT', '/services/:name/tags', 'services'),
  'Query.standardChangeTemplates': at('GET', '/standard-change-templates', 'templates'),
  'Query.standardChangeTemplate': at('GET', '/standard-change-templates/:id', 'templates'),
  'Mutation.createStandardChangeTemplate': at('POST', '/standard-change-templates', 'templates'),
  'Mutation.updateStandardChangeTemplate': at('PATCH', '/standard-change-templates/:id', 'templates'),
  'Mutation.retireStandardChangeTemplate': at('POST', '/standard-change-templates/:id/retire', 'templates'),
  'Mutation.createChangeFromTemplate': at(
    'POST',
    '/standard-change-templates/:templateId/changes',
    'changes',
  ),
  'Query.workflows': at('GET', '/workflows', 'workflows'),
  'Query.workflow': at('GET', '/workflows/:id', 'workflows'),
  'Mutation.createWorkflow': at('POST', '/workflows', 'workflows'),
  'Mutation.updateWorkflow': at('PATCH', '/workflows/:id', 'workflows'),
  'Mutation.deleteWorkflow': at('DELETE', '/workflows/:id', 'workflows'),
  'Mutation.activateWorkflow': at('POST', '/workflows/:id/activate', 'workflows'),
  'Mutation.deactivateWorkflow': at('POST', '/workflows/:id/deactivate', 'workflows'),
  'Mutation.executeWorkflow': at('POST', '/workflows/:workflowId/executions', 'executions'),
  'Query.executions': at('GET', '/executions', 'executions'),
  'Query.execution': at('GET', '/executions/:id', 'executions'),
  'Query.executionStep': at('GET', '/executions/:id/steps/:stepId', 'executions'),
  'Query.waitForExecution': at('GET', '/executions/:id/wait', 'executions'),
  'Mutation.cancelExecution': at('POST', '/executions/:id/cancel', 'executions'),
};
