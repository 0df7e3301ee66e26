// The floors of the GraphQL reads on workerd. /list: what the list of 50 changes with their
// requester and CAB votes costs without GraphQL. It calls the very functions the resolvers and
// DataLoaders call (src/db), in the same shape (the page query, then the users and approvals
// batches side by side), and writes the JSON the GraphQL query returns, key for key, so the bench
// can check that both bodies are byte-identical. /single: the same for get_change_status (one D1
// read of the change). /noop: a fixed body, no D1: what workerd and wrangler dev's proxy cost per
// request. No auth, no limits, no logging: the runtime's floor, nothing more.
import { approvalsForChanges } from '../../src/db/approvals';
import { getChange, listChanges } from '../../src/db/changes';
import { usersByIds } from '../../src/db/users';
import { allowedTransitions } from '../../src/domain/stateMachine';

/** Same as src/domain/pagination.ts encodeCursor (copied: that module pulls in graphql). */
const encodeCursor = (/** @type {unknown} */ value) =>
  btoa(JSON.stringify(value)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

/**
 * @param {D1Database} db
 * @param {string} tenant
 * @param {number} first
 * @returns {Promise<{ data: import('../../operations.generated.ts').ListChangesQuery }>}
 */
async function list(db, tenant, first) {
  const rows = await listChanges(db, tenant, {}, first + 1, null);
  const nodes = rows.slice(0, first);
  // What the DataLoaders batch: each distinct requester once, every change's votes at once.
  const requesterIds = [...new Set(nodes.map((c) => c.requesterId))];
  const [users, approvals] = await Promise.all([
    usersByIds(db, tenant, requesterIds),
    approvalsForChanges(
      db,
      tenant,
      nodes.map((c) => c.id),
    ),
  ]);
  const userById = new Map(users.map((u) => [u.id, u]));
  /** @type {Map<string, typeof approvals>} */
  const votes = new Map();
  for (const a of approvals) {
    const list = votes.get(a.changeId);
    if (list) list.push(a);
    else votes.set(a.changeId, [a]);
  }
  const last = nodes.at(-1);
  return {
    data: {
      changes: {
        nodes: nodes.map((c) => ({
          id: c.id,
          title: c.title,
          type: c.type,
          status: c.status,
          priority: c.priority,
          riskLevel: c.riskLevel,
          createdAt: c.createdAt,
          requester: { id: c.requesterId, displayName: userById.get(c.requesterId)?.displayName ?? null },
          approvals: (votes.get(c.id) ?? []).map((a) => ({
            decision: a.decision,
            comment: a.comment,
            createdAt: a.createdAt,
          })),
        })),
        pageInfo: {
          hasNextPage: rows.length > first,
          endCursor: last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
        },
      },
    },
  };
}

/**
 * get_change_status's answer (its document in mcp-tools.snapshot.json), key for key.
 * @param {D1Database} db
 * @param {string} tenant
 * @param {string} id
 */
async function single(db, tenant, id) {
  const c = await getChange(db, tenant, id);
  if (!c) return { data: null, errors: [{ message: 'not found' }] };
  return {
    data: {
      change: {
        id: c.id,
        title: c.title,
        description: c.description,
        type: c.type,
        priority: c.priority,
        status: c.status,
        allowedTransitions: allowedTransitions(c.status),
        requester: { id: c.requesterId },
        affectedServices: c.affectedServices,
        implementationPlan: c.implementationPlan,
        backoutPlan: c.backoutPlan,
        testPlan: c.testPlan,
        riskScore: c.riskScore,
        riskLevel: c.riskLevel,
        plannedStart: c.plannedStart,
        plannedEnd: c.plannedEnd,
        reviewDueAt: c.reviewDueAt,
        runbookWorkflowId: c.runbookWorkflowId,
        failureReason: c.failureReason,
        version: c.version,
      },
    },
  };
}

const NOOP = '{"data":null}';

export default {
  /**
   * @param {Request} request
   * @param {{ DB: D1Database, TENANT: string }} env
   */
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/health') return new Response('ok');
    const routes = ['/list', '/single', '/noop'];
    if (!routes.includes(pathname) || request.method !== 'POST')
      return new Response('not found', { status: 404 });
    if (pathname === '/noop') {
      await request.arrayBuffer();
      return new Response(NOOP, { headers: { 'content-type': 'application/json; charset=utf-8' } });
    }
    // The same request body as the GraphQL call; only the variables are used.
    const { variables } = /** @type {{ variables?: { first?: number, id?: string } }} */ (
      await request.json()
    );
    const body =
      pathname === '/single'
        ? await single(env.DB, env.TENANT, variables?.id ?? '')
        : await list(env.DB, env.TENANT, variables?.first ?? 20);
    return new Response(JSON.stringify(body), {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  },
};
