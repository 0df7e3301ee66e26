// The floor of the GraphQL list on workerd: what the list of 50 changes with their requester and
// CAB votes costs without GraphQL. It calls the very functions the resolvers and DataLoaders call
// (src/db), in the same shape (the page query, then the users and approvals batches side by side),
// and writes the JSON the GraphQL query returns, key for key, so the bench can check that both
// bodies are byte-identical. No auth, no limits, no logging: the runtime's floor, nothing more.
import { approvalsForChanges } from '../../src/db/approvals';
import { listChanges } from '../../src/db/changes';
import { usersByIds } from '../../src/db/users';

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

export default {
  /**
   * @param {Request} request
   * @param {{ DB: D1Database, TENANT: string }} env
   */
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/health') return new Response('ok');
    if (pathname !== '/list' || request.method !== 'POST') return new Response('not found', { status: 404 });
    // The same request body as the GraphQL call; only the variables are used.
    const { variables } = /** @type {{ variables?: { first?: number } }} */ (await request.json());
    const body = await list(env.DB, env.TENANT, variables?.first ?? 20);
    return new Response(JSON.stringify(body), {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  },
};
