// A client typed by openapi-typescript from the committed openapi.json (openapi.generated.d.ts),
// calling through openapi-fetch: if the document did not describe the routes as they are, this
// file would not typecheck (tsconfig.test.json) or the lifecycle it drives would fail
// (test/node/openapiClient.test.mjs).
import createClient from 'openapi-fetch';
import type { paths } from './openapi.generated';

export interface Tokens {
  requester: string;
  approver1: string;
  approver2: string;
  manager: string;
}

/** The REST API client of one caller. */
export function restClient(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } });
}

function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.error !== undefined || result.data === undefined) {
    throw new Error(`${what}: ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

/** Drives a change DRAFT → COMPLETED through the typed client; returns the statuses it went through. */
export async function driveLifecycle(baseUrl: string, tokens: Tokens): Promise<string[]> {
  const as = (token: string) => restClient(baseUrl, token);
  const created = ok(
    await as(tokens.requester).POST('/api/v1/changes', {
      body: {
        input: {
          title: 'Rotate the edge certificates',
          description: 'Yearly rotation.',
          type: 'NORMAL',
          impact: 'MEDIUM',
          urgency: 'MEDIUM',
          affectedServices: ['edge'],
          implementationPlan: 'Swap them.',
          backoutPlan: 'Swap back.',
        },
      },
    }),
    'create',
  );
  const id = created.id;
  const path = { params: { path: { id } } };
  const statuses = [created.status];
  statuses.push(
    ok(await as(tokens.requester).POST('/api/v1/changes/{id}/submit', { ...path, body: {} }), 'submit')
      .status,
  );
  for (const approver of [tokens.approver1, tokens.approver2]) {
    const vote = ok(
      await as(approver).POST('/api/v1/changes/{id}/approve', { ...path, body: { comment: 'ok' } }),
      'approve',
    );
    statuses.push(vote.change.status);
  }
  const start = new Date(Date.now() + 3 * 86_400_000);
  start.setUTCHours(10, 0, 0, 0);
  const scheduled = ok(
    await as(tokens.manager).POST('/api/v1/changes/{id}/schedule', {
      ...path,
      body: {
        plannedStart: start.toISOString(),
        plannedEnd: new Date(start.getTime() + 3_600_000).toISOString(),
      },
    }),
    'schedule',
  );
  statuses.push(scheduled.change.status);
  const manager = as(tokens.manager);
  statuses.push(
    ok(await manager.POST('/api/v1/changes/{id}/start-implementation', { ...path, body: {} }), 'start')
      .status,
  );
  statuses.push(
    ok(await manager.POST('/api/v1/changes/{id}/complete', { ...path, body: {} }), 'complete').status,
  );
  const read = ok(await manager.GET('/api/v1/changes/{id}', path), 'get');
  statuses.push(read.status);
  return statuses;
}
