// The transactional outbox on the Node runtime (src/runtime/node/followUps.ts): a decision's
// follow-ups are rows written with the vote and run right after it; one whose run failed is
// retried by a timer (the Worker's Durable Object alarm), and the answer is the committed vote.
// The follow-up here is waking gates (none wait); what is shown is the row's way: queued with the
// write, failed once, retried by itself, done once.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SignJWT } from 'jose';
import { createNodeApp } from '../../src/runtime/node/runtime.ts';
import { applyMigrations, openSqliteD1 } from '../../src/runtime/node/sqlite.ts';

const SECRET = 'node-outbox-test-secret-0123456789abcdef';
const TENANT = 'outbox';

const sign = (sub, roles) =>
  new SignJWT({ tenant: TENANT, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

const db = openSqliteD1(':memory:');
applyMigrations(db);

/** The first `left` runs of the statement that marks an outbox row done fail (a crash right there). */
let left = 1;
const faulty = new Proxy(db, {
  get(target, prop) {
    if (prop === 'prepare') {
      return (sql) => {
        const stmt = target.prepare(sql);
        if (!/UPDATE outbox SET done_at/.test(sql)) return stmt;
        return {
          bind: (...values) => {
            const bound = stmt.bind(...values);
            return {
              run: async () => {
                if (left-- > 0) throw new Error('injected failure: outbox row not marked done');
                return bound.run();
              },
            };
          },
        };
      };
    }
    const value = Reflect.get(target, prop, target);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});

const app = createNodeApp({ db: faulty, env: { JWT_SECRET: SECRET, ENVIRONMENT: 'development' } });
after(async () => {
  await app.close();
  db.close();
});

async function gql(token, query, variables) {
  const res = await app.fetch(
    new Request('http://127.0.0.1/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    }),
  );
  const body = await res.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

const outbox = (changeId) =>
  db
    .prepare(
      `SELECT kind, attempts, done_at, last_error FROM outbox WHERE json_extract(payload, '$.changeId') = ?1`,
    )
    .bind(changeId)
    .all()
    .then((r) => r.results);

test('a decision’s follow-up that failed right after the vote is retried by a timer, once', async () => {
  const requester = await sign('rita', ['requester']);
  const approvers = [
    await sign('abe', ['approver']),
    await sign('ada', ['approver']),
    await sign('max', ['change_manager']),
  ];
  const { createChangeRequest } = await gql(
    requester,
    'mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }',
    {
      input: {
        title: 'Rotate the edge certificates',
        description: 'Rotate the edge certificates before they expire.',
        type: 'NORMAL',
        impact: 'LOW',
        urgency: 'LOW',
        affectedServices: ['edge'],
        backoutPlan: 'Restore the previous certificate bundle.',
      },
    },
  );
  const id = createChangeRequest.id;
  let { submitChange: change } = await gql(
    requester,
    'mutation($id: ID!) { submitChange(id: $id) { status } }',
    {
      id,
    },
  );
  for (const approver of approvers) {
    if (change.status !== 'PENDING_APPROVAL') break;
    ({ change } = (
      await gql(approver, 'mutation($id: ID!) { approveChange(id: $id) { change { status } } }', { id })
    ).approveChange);
  }
  // The answer is the committed decision, although its follow-up failed.
  assert.equal(change.status, 'APPROVED');
  const [failed] = await outbox(id);
  assert.equal(failed.kind, 'wake-gates');
  assert.equal(failed.attempts, 1);
  assert.equal(failed.done_at, null);
  assert.match(failed.last_error, /injected failure/);

  // No cron on Node: the timer set at the failure runs it at its retry time (within seconds).
  let row = failed;
  for (let i = 0; i < 150 && row.done_at === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    [row] = await outbox(id);
  }
  assert.notEqual(row.done_at, null, 'the retry ran');
  assert.equal(row.attempts, 2);
  assert.equal(row.last_error, null);
  assert.equal((await outbox(id)).length, 1);
});
