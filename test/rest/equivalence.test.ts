import { describe, expect, it } from 'vitest';
import {
  APPROVE,
  COMPLETE,
  CREATE,
  cast,
  changeInput,
  gql,
  gqlOk,
  inDays,
  REJECT,
  SCHEDULE,
  START,
  SUBMIT,
} from '../helpers/changes';
import { rest } from '../helpers/rest';

/**
 * REST and GraphQL are one API: the same lifecycle driven over each, in two tenants with the same
 * cast, gives the same states, the same refusals and the same audit trail, event for event, but
 * for the source (`rest` or `graphql`), ids and times.
 */

type Json = Record<string, unknown>;
type Event = { action: string; actorId: string; actorType: string; source: string; targetType: string };

const AUDIT = `query($targetId: ID) { auditLog(targetId: $targetId, first: 100) {
  nodes { action actorId actorType source targetType before after } } }`;

const START_AT = inDays(5);
const END_AT = inDays(5, 14);

/** Generated ids and instants out of a value, so that two tenants' histories compare. */
function normalised(value: unknown): unknown {
  if (typeof value === 'string') {
    if (/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(value)) return '<time>';
    if (/^(CHG-\d{8}-[A-Z0-9]+|[a-z]{2,4}_[A-Za-z0-9-]+)$/.test(value)) return '<id>';
    if (value.startsWith('equal-')) return '<tenant>';
    return value;
  }
  if (Array.isArray(value)) return value.map(normalised);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalised(v)]));
  }
  return value;
}

interface Outcome {
  states: unknown[];
  refusal: unknown;
  trail: unknown[];
  sources: Set<string>;
}

/** One lifecycle: create, submit, two votes (one rejecting on another change), schedule, start, complete. */
async function overGraphql(): Promise<Outcome> {
  const c = await cast('equal-graphql');
  const summary = (x: Json) => ({ status: x.status, version: x.version, allowed: x.allowedTransitions });
  const id = String(
    (await gqlOk<{ createChangeRequest: Json }>(CREATE, { input: changeInput() }, c.requester))
      .createChangeRequest.id,
  );
  const states = [summary((await gqlOk<{ submitChange: Json }>(SUBMIT, { id }, c.requester)).submitChange)];
  await gqlOk(APPROVE, { id, comment: 'fine' }, c.approver1);
  states.push(
    summary(
      (await gqlOk<{ approveChange: { change: Json } }>(APPROVE, { id }, c.approver2)).approveChange.change,
    ),
  );
  const scheduled = await gqlOk<{ scheduleChange: { change: Json } }>(
    SCHEDULE,
    { id, start: START_AT, end: END_AT },
    c.manager,
  );
  states.push(summary(scheduled.scheduleChange.change));
  states.push(
    summary((await gqlOk<{ startImplementation: Json }>(START, { id }, c.manager)).startImplementation),
  );
  states.push(summary((await gqlOk<{ completeChange: Json }>(COMPLETE, { id }, c.manager)).completeChange));
  const other = String(
    (await gqlOk<{ createChangeRequest: Json }>(CREATE, { input: changeInput() }, c.requester))
      .createChangeRequest.id,
  );
  const refused = await gql(REJECT, { id: other, reason: 'Not submitted yet' }, { token: c.approver1 });
  const refusal = refused.errors?.[0]?.extensions?.code;
  return { states, refusal, ...(await trail(c.admin, id)) };
}

async function overRest(): Promise<Outcome> {
  const c = await cast('equal-rest');
  const summary = (x: Json) => ({ status: x.status, version: x.version, allowed: x.allowedTransitions });
  const post = async (tok: string, path: string, body: Json = {}) => {
    const r = await rest<Json>('POST', `/api/v1${path}`, { token: tok, body });
    return r;
  };
  const ok = async (tok: string, path: string, body: Json = {}) => {
    const r = await post(tok, path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const id = String((await ok(c.requester, '/changes', { input: changeInput() })).id);
  const states = [summary(await ok(c.requester, `/changes/${id}/submit`))];
  await ok(c.approver1, `/changes/${id}/approve`, { comment: 'fine' });
  states.push(summary((await ok(c.approver2, `/changes/${id}/approve`)).change as Json));
  const scheduled = await ok(c.manager, `/changes/${id}/schedule`, {
    plannedStart: START_AT,
    plannedEnd: END_AT,
  });
  states.push(summary(scheduled.change as Json));
  states.push(summary(await ok(c.manager, `/changes/${id}/start-implementation`)));
  states.push(summary(await ok(c.manager, `/changes/${id}/complete`)));
  const other = String((await ok(c.requester, '/changes', { input: changeInput() })).id);
  const refused = await post(c.approver1, `/changes/${other}/reject`, { reason: 'Not submitted yet' });
  return { states, refusal: (refused.body as { code?: string }).code, ...(await trail(c.admin, id)) };
}

async function trail(admin: string, id: string) {
  const data = await gqlOk<{ auditLog: { nodes: (Event & Json)[] } }>(AUDIT, { targetId: id }, admin);
  const nodes = data.auditLog.nodes;
  return {
    trail: nodes.map(({ source: _s, ...event }) => normalised(event)),
    sources: new Set(nodes.map((e) => e.source)),
  };
}

describe('REST and GraphQL', () => {
  it('give the same states, refusals and audit trail for the same lifecycle', async () => {
    const [graphql, viaRest] = [await overGraphql(), await overRest()];
    expect(viaRest.states).toEqual(graphql.states);
    expect(graphql.states.map((s) => (s as { status: string }).status)).toEqual([
      'PENDING_APPROVAL',
      'APPROVED',
      'SCHEDULED',
      'IMPLEMENTING',
      'COMPLETED',
    ]);
    expect(graphql.refusal).toBeTruthy();
    expect(viaRest.refusal).toBe(graphql.refusal);
    // Event for event: action, actor, target type, and what changed.
    expect(viaRest.trail.length).toBeGreaterThanOrEqual(7);
    expect(viaRest.trail).toEqual(graphql.trail);
    // Who did what is compared, not normalised away: the same people in both tenants.
    expect(graphql.trail).toContainEqual(
      expect.objectContaining({ action: 'change.completed', actorId: 'max', actorType: 'user' }),
    );
    expect(graphql.sources).toEqual(new Set(['graphql']));
    expect(viaRest.sources).toEqual(new Set(['rest']));
  });
});
