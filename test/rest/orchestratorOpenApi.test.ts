import { Validator } from '@cfworker/json-schema';
import { describe, expect, it } from 'vitest';
import committed from '../../openapi.json?raw';
import { ORCHESTRATOR_ROUTES } from '../../src/http/rest/orchestratorOpenApi';
import { token } from '../helpers/auth';
import { rest } from '../helpers/rest';

/**
 * The orchestrator's routes as openapi.json documents them: every route and verb is in the
 * document, and what each really answers (success and refusal) validates against the schema the
 * document gives for that status, so the document cannot drift from the routes.
 */

type Json = Record<string, unknown>;
const document = JSON.parse(committed) as {
  paths: Record<string, Record<string, { responses: Record<string, Json>; operationId: string }>>;
  components: Json;
};

/** Checks an answer against the document's schema for its route, verb and status. */
function expectDocumented(path: string, method: string, status: number, body: unknown) {
  const operation = document.paths[path]?.[method.toLowerCase()];
  expect(operation, `${method} ${path} is documented`).toBeDefined();
  const response = operation?.responses[String(status)] as
    | { content?: { 'application/json'?: { schema: Json } } }
    | undefined;
  expect(response, `${method} ${path} documents ${status}`).toBeDefined();
  const schema = response?.content?.['application/json']?.schema as Json;
  const result = new Validator({ ...schema, components: document.components }, '2020-12', false).validate(
    body,
  );
  expect(result.errors, `${method} ${path} ${status}: ${JSON.stringify(body)}`).toEqual([]);
}

const STEPS = [{ id: 'wait', type: 'delay', config: { durationMs: 60_000 }, order: 1 }];

describe('the orchestrator routes in openapi.json', () => {
  it('lists every route and verb the server serves, tagged orchestrator, with its error shape', () => {
    for (const route of ORCHESTRATOR_ROUTES) {
      for (const method of Object.keys(route.operations)) {
        const operation = document.paths[route.path]?.[method.toLowerCase()] as
          | (Json & { tags: string[]; responses: Json })
          | undefined;
        expect(operation?.tags).toEqual(['orchestrator']);
        expect(Object.keys(operation?.responses ?? {})).toEqual(
          expect.arrayContaining(['400', '401', '403', '404', '429']),
        );
      }
    }
    const served = ORCHESTRATOR_ROUTES.flatMap((r) => Object.keys(r.operations).map((m) => `${m} ${r.path}`));
    expect(served).toHaveLength(9);
  });

  it('every answer of a lifecycle and its refusals validates against the documented schema', async () => {
    const tok = await token({ sub: 'orch-doc', tenant: 'orch-doc', roles: ['change_manager'] });
    const call = async (method: string, path: string, documented: string, body?: unknown) => {
      const res = await rest<Json>(method, path, { token: tok, ...(body === undefined ? {} : { body }) });
      expectDocumented(documented, method, res.status, res.body);
      return res;
    };

    const created = await call('POST', '/api/workflows', '/api/workflows', {
      name: 'Documented',
      steps: STEPS,
      triggers: ['manual'],
    });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    expect((await call('GET', '/api/workflows', '/api/workflows')).status).toBe(200);
    expect((await call('GET', `/api/workflows/${id}`, '/api/workflows/{id}')).status).toBe(200);
    const updated = await call('PUT', `/api/workflows/${id}`, '/api/workflows/{id}', { description: 'Now' });
    expect(updated.body.description).toBe('Now');

    const started = await call('POST', '/api/executions', '/api/executions', { workflowId: id });
    expect(started.status).toBe(201);
    const exe = String(started.body.id);
    expect((await call('GET', '/api/executions?limit=5', '/api/executions')).status).toBe(200);
    expect((await call('GET', `/api/executions/${exe}`, '/api/executions/{id}')).status).toBe(200);
    const cancelled = await call('POST', `/api/executions/${exe}/cancel`, '/api/executions/{id}/cancel');
    expect(cancelled.status).toBe(200);

    // Refusals: each in the orchestrator's error shape, at a status the document lists.
    expect((await call('POST', '/api/workflows', '/api/workflows', { steps: STEPS })).body).toMatchObject({
      error: { code: 'WORKFLOW-001' },
    });
    expect((await call('GET', '/api/workflows/wf_nope', '/api/workflows/{id}')).body).toMatchObject({
      error: { code: 'WORKFLOW-002' },
    });
    expect((await call('GET', '/api/executions/exe_nope', '/api/executions/{id}')).body).toMatchObject({
      error: { code: 'EXECUTION-002' },
    });
    expect((await call('POST', '/api/executions', '/api/executions', {})).body).toMatchObject({
      error: { code: 'EXECUTION-003' },
    });
    const anonymous = await rest<Json>('GET', '/api/workflows');
    expectDocumented('/api/workflows', 'GET', anonymous.status, anonymous.body);
    expect(anonymous.status).toBe(401);

    expect((await call('DELETE', `/api/workflows/${id}`, '/api/workflows/{id}')).status).toBe(200);
  });

  it('a validator that is not a rubber stamp: an answer of another shape fails', () => {
    const responses = document.paths['/api/workflows/{id}']?.get?.responses ?? {};
    const ok = responses['200'] as { content: { 'application/json': { schema: Json } } };
    const schema = ok.content['application/json'].schema;
    const result = new Validator({ ...schema, components: document.components }, '2020-12', false).validate({
      id: 'wf_1',
      status: 'ACTIVE',
    });
    expect(result.valid).toBe(false);
  });
});
