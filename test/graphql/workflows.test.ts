import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { cast, createChange, gql, gqlOk } from '../helpers/changes';
import type { GqlResult } from '../helpers/graphql';
import { setSecret } from '../helpers/secrets';

type Cast = Awaited<ReturnType<typeof cast>>;

interface Workflow {
  id: string;
  name: string;
  description: string | null;
  status: 'ACTIVE' | 'INACTIVE';
  version: number;
  steps: Record<string, unknown>[];
  triggers: Record<string, unknown>[];
  secretNames: string[];
  createdBy: string;
  versions: { version: number; steps: Record<string, unknown>[]; createdBy: string }[];
}

const FIELDS =
  'id name description status version steps triggers secretNames createdBy versions { version steps createdBy }';
const CREATE_WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ${FIELDS} } }`;
const UPDATE_WORKFLOW = `mutation($id: ID!, $input: UpdateWorkflowInput!, $expectedVersion: Int) {
  updateWorkflow(id: $id, input: $input, expectedVersion: $expectedVersion) { ${FIELDS} } }`;
const GET = `query($id: ID!) { workflow(id: $id) { ${FIELDS} } }`;
const LIST = `query($filter: WorkflowFilter, $first: Int, $after: String) {
  workflows(filter: $filter, first: $first, after: $after) { nodes { id name status } pageInfo { hasNextPage endCursor } } }`;
const ACTIVATE = `mutation($id: ID!) { activateWorkflow(id: $id) { id status version } }`;
const DEACTIVATE = `mutation($id: ID!) { deactivateWorkflow(id: $id) { id status version } }`;
const DELETE = `mutation($id: ID!) { deleteWorkflow(id: $id) { id name } }`;

const codes = (r: GqlResult<unknown>) => r.errors?.map((e) => e.extensions?.code);
const issues = (r: GqlResult<unknown>) =>
  (r.errors?.[0]?.extensions?.issues ?? []) as { field: string; message: string }[];

const httpStep = (overrides: Record<string, unknown> = {}) => ({
  id: 'deploy',
  type: 'http-request',
  url: 'https://deploy.example.com/api/releases',
  method: 'POST',
  headers: { Authorization: 'Bearer {{ secrets.DEPLOY_TOKEN }}', 'Content-Type': 'application/json' },
  body: '{"service": "payments"}',
  ...overrides,
});

function workflowInput(overrides: Record<string, unknown> = {}) {
  return {
    name: 'Deploy payments',
    description: 'Ships a payments release.',
    steps: [
      httpStep(),
      { id: 'pick-id', type: 'transform', spec: { pick: { release: 'steps.deploy.body.id' } } },
      { id: 'settle', type: 'delay', durationMs: 60_000 },
    ],
    triggers: [{ type: 'manual' }, { type: 'cron', expression: '0 3 * * MON-FRI' }],
    ...overrides,
  };
}

async function create(tok: string, overrides: Record<string, unknown> = {}) {
  return (
    await gqlOk<{ createWorkflow: Workflow }>(CREATE_WORKFLOW, { input: workflowInput(overrides) }, tok)
  ).createWorkflow;
}

let c: Cast;
/** The secrets these definitions name, set in the tenant for the hosts its steps call. */
async function withSecrets<T extends Cast>(t: T): Promise<T> {
  for (const name of ['DEPLOY_TOKEN', 'PAGER_KEY', 'BODY_SECRET']) {
    await setSecret(t.admin, name, `value-of-${name}`, ['deploy.example.com']);
  }
  await setSecret(t.admin, 'HOOK_SECRET', 'value-of-HOOK_SECRET');
  return t;
}

beforeAll(async () => {
  c = await withSecrets(await cast('workflows'));
});

describe('workflow definitions', () => {
  it('creates an ACTIVE workflow at version 1 with every default filled in', async () => {
    const w = await create(c.manager, { name: 'Create defaults' });
    expect(w).toMatchObject({ name: 'Create defaults', status: 'ACTIVE', version: 1, createdBy: 'max' });
    expect(w.id).toMatch(/^wf_[0-9a-f-]{36}$/);
    expect(w.steps[0]).toEqual({
      ...httpStep(),
      timeoutMs: 10_000,
      retry: { maxAttempts: 3, baseDelayMs: 1000, capMs: 30_000 },
      successStatuses: ['200-299'],
    });
    expect(w.steps.map((s) => s.type)).toEqual(['http-request', 'transform', 'delay']);
    expect(w.triggers).toEqual([{ type: 'manual' }, { type: 'cron', expression: '0 3 * * MON-FRI' }]);
    expect(w.secretNames).toEqual(['DEPLOY_TOKEN']);
    expect(w.versions).toEqual([{ version: 1, steps: w.steps, createdBy: 'max' }]);
    const read = (await gqlOk<{ workflow: Workflow }>(GET, { id: w.id }, c.viewer)).workflow;
    expect(read).toEqual(w);
  });

  it('defaults the triggers to manual', async () => {
    const w = await create(c.manager, { name: 'Manual only', triggers: undefined });
    expect(w.triggers).toEqual([{ type: 'manual' }]);
  });

  it('reads an unknown id as WORKFLOW-001 (404)', async () => {
    const r = await gql(GET, { id: 'wf_nope' }, { token: c.viewer });
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['WORKFLOW-001']);
  });

  it('updates: the version moves on and the old version is kept', async () => {
    const w = await create(c.manager, { name: 'Update me' });
    const steps = [{ id: 'wait', type: 'delay', durationMs: 5000 }];
    const updated = (
      await gqlOk<{ updateWorkflow: Workflow }>(
        UPDATE_WORKFLOW,
        { id: w.id, input: { steps, description: 'Now it only waits.' }, expectedVersion: 1 },
        c.admin,
      )
    ).updateWorkflow;
    expect(updated).toMatchObject({
      version: 2,
      name: 'Update me',
      description: 'Now it only waits.',
      steps,
    });
    expect(updated.triggers).toEqual(w.triggers);
    expect(updated.versions.map((v) => [v.version, v.createdBy])).toEqual([
      [2, 'root'],
      [1, 'max'],
    ]);
    expect(updated.versions[1]?.steps).toEqual(w.steps);
    const renamed = (
      await gqlOk<{ updateWorkflow: Workflow }>(
        UPDATE_WORKFLOW,
        { id: w.id, input: { name: 'Updated' } },
        c.manager,
      )
    ).updateWorkflow;
    expect(renamed).toMatchObject({ version: 3, name: 'Updated', steps });
  });

  it('refuses a stale expectedVersion with WORKFLOW-003 and changes nothing', async () => {
    const w = await create(c.manager, { name: 'Versioned' });
    await gqlOk(UPDATE_WORKFLOW, { id: w.id, input: { description: 'v2' }, expectedVersion: 1 }, c.manager);
    const r = await gql(
      UPDATE_WORKFLOW,
      { id: w.id, input: { description: 'lost update' }, expectedVersion: 1 },
      { token: c.manager },
    );
    expect(r.status).toBe(409);
    expect(codes(r)).toEqual(['WORKFLOW-003']);
    const read = (await gqlOk<{ workflow: Workflow }>(GET, { id: w.id }, c.viewer)).workflow;
    expect(read).toMatchObject({ version: 2, description: 'v2' });
    expect(read.versions).toHaveLength(2);
  });

  it('refuses an empty update', async () => {
    const w = await create(c.manager, { name: 'Nothing to do' });
    const r = await gql(UPDATE_WORKFLOW, { id: w.id, input: {} }, { token: c.manager });
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
  });

  it('deactivates and activates without a new version; refuses a repeat with WORKFLOW-005', async () => {
    const w = await create(c.manager, { name: 'Toggle' });
    const off = await gqlOk<{ deactivateWorkflow: Workflow }>(DEACTIVATE, { id: w.id }, c.manager);
    expect(off.deactivateWorkflow).toMatchObject({ status: 'INACTIVE', version: 1 });
    const again = await gql(DEACTIVATE, { id: w.id }, { token: c.manager });
    expect(again.status).toBe(409);
    expect(codes(again)).toEqual(['WORKFLOW-005']);
    const on = await gqlOk<{ activateWorkflow: Workflow }>(ACTIVATE, { id: w.id }, c.manager);
    expect(on.activateWorkflow).toMatchObject({ status: 'ACTIVE', version: 1 });
    expect(codes(await gql(ACTIVATE, { id: w.id }, { token: c.manager }))).toEqual(['WORKFLOW-005']);
  });

  it('keeps ACTIVE names unique (WORKFLOW-004), but an INACTIVE one may share its name', async () => {
    const first = await create(c.manager, { name: 'Unique name' });
    const dup = await gql(
      CREATE_WORKFLOW,
      { input: workflowInput({ name: 'Unique name' }) },
      { token: c.manager },
    );
    expect(dup.status).toBe(409);
    expect(codes(dup)).toEqual(['WORKFLOW-004']);
    await gqlOk(DEACTIVATE, { id: first.id }, c.manager);
    const second = await create(c.manager, { name: 'Unique name' });
    expect(second.status).toBe('ACTIVE');
    expect(codes(await gql(ACTIVATE, { id: first.id }, { token: c.manager }))).toEqual(['WORKFLOW-004']);
    const other = await create(c.manager, { name: 'Another name' });
    const rename = await gql(
      UPDATE_WORKFLOW,
      { id: other.id, input: { name: 'Unique name' } },
      { token: c.manager },
    );
    expect(codes(rename)).toEqual(['WORKFLOW-004']);
  });

  it('deletes a workflow with all its versions', async () => {
    const w = await create(c.manager, { name: 'Delete me' });
    await gqlOk(UPDATE_WORKFLOW, { id: w.id, input: { description: 'v2' } }, c.manager);
    const del = await gqlOk<{ deleteWorkflow: { id: string; name: string } }>(
      DELETE,
      { id: w.id },
      c.manager,
    );
    expect(del.deleteWorkflow).toEqual({ id: w.id, name: 'Delete me' });
    expect(codes(await gql(GET, { id: w.id }, { token: c.viewer }))).toEqual(['WORKFLOW-001']);
    expect(codes(await gql(DELETE, { id: w.id }, { token: c.manager }))).toEqual(['WORKFLOW-001']);
    const left = await env.DB.prepare('SELECT COUNT(*) AS n FROM workflow_versions WHERE workflow_id = ?1')
      .bind(w.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe('listing', () => {
  let t: Cast;
  const made: Workflow[] = [];
  beforeAll(async () => {
    t = await withSecrets(await cast('workflows-list'));
    for (const name of ['Alpha deploy', 'Beta deploy', 'Gamma rollback', 'Delta deploy', 'Epsilon 100%_x']) {
      made.push(await create(t.manager, { name }));
    }
    await gqlOk(DEACTIVATE, { id: made[1]?.id }, t.manager);
  });

  type ListData = {
    workflows: {
      nodes: { id: string; name: string; status: string }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
  const list = async (vars: Record<string, unknown>) =>
    (await gqlOk<ListData>(LIST, vars, t.viewer)).workflows;

  it('lists newest first and pages with cursors', async () => {
    const all = await list({});
    expect(all.nodes.map((n) => n.id)).toEqual([...made].reverse().map((w) => w.id));
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const p: ListData['workflows'] = await list({ first: 2, after });
      pages += 1;
      seen.push(...p.nodes.map((n) => n.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(all.nodes.map((n) => n.id));
  });

  it('filters by status and by text in the name (LIKE wildcards are literal)', async () => {
    expect((await list({ filter: { status: 'INACTIVE' } })).nodes.map((n) => n.name)).toEqual([
      'Beta deploy',
    ]);
    expect(
      (await list({ filter: { status: 'ACTIVE', nameContains: 'deploy' } })).nodes.map((n) => n.name),
    ).toEqual(['Delta deploy', 'Alpha deploy']);
    expect((await list({ filter: { nameContains: '%_' } })).nodes.map((n) => n.name)).toEqual([
      'Epsilon 100%_x',
    ]);
  });

  it('refuses a cursor it did not issue', async () => {
    const r = await gql(LIST, { after: 'not-a-cursor' }, { token: t.viewer });
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
  });
});

describe('malformed definitions are refused, naming the field', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['a URL that is not one', { steps: [httpStep({ url: 'not a url' })] }, 'steps.0.url', /absolute http/],
    [
      'an ftp URL',
      { steps: [httpStep({ url: 'ftp://files.example.com/x' })] },
      'steps.0.url',
      /http or https/,
    ],
    [
      'credentials in the URL',
      { steps: [httpStep({ url: 'https://user:pw@deploy.example.com/' })] },
      'steps.0.url',
      /credentials/,
    ],
    ['a timeout over 60 s', { steps: [httpStep({ timeoutMs: 60_001 })] }, 'steps.0.timeoutMs', /60000/],
    ['a timeout of 0', { steps: [httpStep({ timeoutMs: 0 })] }, 'steps.0.timeoutMs', />=1/],
    [
      'too many attempts',
      { steps: [httpStep({ retry: { maxAttempts: 11 } })] },
      'steps.0.retry.maxAttempts',
      /10/,
    ],
    ['an unknown method', { steps: [httpStep({ method: 'TRACE' })] }, 'steps.0.method', /GET/],
    [
      'a bad success status',
      { steps: [httpStep({ successStatuses: ['299-200'] })] },
      'steps.0.successStatuses.0',
      /range/,
    ],
    [
      'an unknown step type',
      { steps: [httpStep(), { id: 'run', type: 'shell', command: 'rm -rf /' }] },
      'steps.1.type',
      /http-request, transform, delay, approval-gate/,
    ],
    [
      'duplicate step ids',
      {
        steps: [
          { id: 'wait', type: 'delay', durationMs: 1 },
          { id: 'wait', type: 'delay', durationMs: 2 },
        ],
      },
      'steps.1.id',
      /duplicates the id of step 0/,
    ],
    [
      'a step id that is not a slug',
      { steps: [{ id: 'Wait Here', type: 'delay', durationMs: 1 }] },
      'steps.0.id',
      /slug/,
    ],
    ['an unknown field', { steps: [httpStep({ timeout: 5000 })] }, 'steps.0', /timeout/],
    [
      'a delay over a day',
      { steps: [{ id: 'w', type: 'delay', durationMs: 86_400_001 }] },
      'steps.0.durationMs',
      /86400000/,
    ],
    [
      'a bad change id',
      { steps: [{ id: 'gate', type: 'approval-gate', changeId: 'CHG-1' }] },
      'steps.0.changeId',
      /CHG-YYYYMMDD-XXXXXX/,
    ],
    [
      'a transform with __proto__',
      { steps: [{ id: 't', type: 'transform', spec: JSON.parse('{"pick": {"__proto__": "inputs.a"}}') }] },
      'steps.0.spec.pick.__proto__',
      /not allowed/,
    ],
    [
      'a transform path through constructor',
      { steps: [{ id: 't', type: 'transform', spec: { pick: { x: 'steps.a.constructor' } } }] },
      'steps.0.spec.pick.x',
      /constructor/,
    ],
    ['no steps', { steps: [] }, 'steps', />=1/],
    [
      'more than 50 steps',
      { steps: Array.from({ length: 51 }, (_, i) => ({ id: `s${i}`, type: 'delay', durationMs: 1 })) },
      'steps',
      /50/,
    ],
    [
      'a cron with 6 fields',
      { triggers: [{ type: 'cron', expression: '0 0 3 * * *' }] },
      'triggers.0.expression',
      /5 fields/,
    ],
    [
      'a cron minute of 61',
      { triggers: [{ type: 'cron', expression: '61 * * * *' }] },
      'triggers.0.expression',
      /minute/,
    ],
    [
      'a cron month of 13',
      { triggers: [{ type: 'cron', expression: '0 3 * 13 *' }] },
      'triggers.0.expression',
      /month/,
    ],
    ['an unknown trigger', { triggers: [{ type: 'email' }] }, 'triggers.0.type', /./],
    [
      'a webhook secret given by value',
      { triggers: [{ type: 'webhook', secret: 'hunter2-very-secret' }] },
      'triggers.0.secret',
      /never hold its value/,
    ],
    [
      'a bad secret reference',
      { steps: [httpStep({ headers: { 'X-Trace': '{{ secrets.lower }}' } })] },
      'steps.0.headers.X-Trace',
      /UPPER_SNAKE_CASE/,
    ],
  ];

  it.each(cases)('%s', async (_label, overrides, field, message) => {
    const r = await gql(
      CREATE_WORKFLOW,
      { input: workflowInput({ name: 'Malformed', ...overrides }) },
      { token: c.manager },
    );
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    const found = issues(r).find((i) => i.field === field);
    expect(found, JSON.stringify(issues(r))).toBeDefined();
    expect(found?.message).toMatch(message);
    expect(r.errors?.[0]?.message).toContain(field);
  });

  it('reports every problem at once, each with its step index', async () => {
    const r = await gql(
      CREATE_WORKFLOW,
      {
        input: workflowInput({
          name: 'Many problems',
          steps: [
            httpStep({ url: 'ftp://x' }),
            { id: 'w', type: 'delay', durationMs: 0 },
            httpStep({ id: 'h', timeoutMs: -1 }),
          ],
        }),
      },
      { token: c.manager },
    );
    expect(issues(r).map((i) => i.field)).toEqual(['steps.0.url', 'steps.1.durationMs', 'steps.2.timeoutMs']);
  });

  it('refuses an update with a bad step the same way, keeping the stored version', async () => {
    const w = await create(c.manager, { name: 'Bad update' });
    const r = await gql(
      UPDATE_WORKFLOW,
      { id: w.id, input: { steps: [httpStep({ timeoutMs: 0 })] } },
      { token: c.manager },
    );
    expect(issues(r).map((i) => i.field)).toEqual(['steps.0.timeoutMs']);
    expect((await gqlOk<{ workflow: Workflow }>(GET, { id: w.id }, c.viewer)).workflow.version).toBe(1);
  });

  it('an approval gate must name a change of this tenant (WORKFLOW-002)', async () => {
    const change = await createChange(c.requester);
    const ok = await create(c.manager, {
      name: 'Gated',
      steps: [{ id: 'gate', type: 'approval-gate', changeId: change.id }],
    });
    expect(ok.steps).toEqual([{ id: 'gate', type: 'approval-gate', changeId: change.id }]);
    const other = await createChange((await cast('workflows-other')).requester);
    const r = await gql(
      CREATE_WORKFLOW,
      {
        input: workflowInput({
          name: 'Gated elsewhere',
          steps: [{ id: 'gate', type: 'approval-gate', changeId: other.id }],
        }),
      },
      { token: c.manager },
    );
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['WORKFLOW-002']);
    expect(issues(r)).toEqual([{ field: 'steps.0.changeId', message: `change ${other.id} does not exist` }]);
  });
});

describe('secrets are referenced, never stored', () => {
  it.each([
    ['Authorization', 'Bearer abc123'],
    ['authorization', 'Basic dXNlcjpwYXNz'],
    ['X-API-Key', 'sk_live_123'],
    ['X-Auth-Token', 'abc'],
    ['Cookie', 'session=abc'],
    ['Authorization', 'Bearer {{ secrets.DEPLOY_TOKEN }} extra'],
  ])('refuses a literal %s: %s', async (header, value) => {
    const r = await gql(
      CREATE_WORKFLOW,
      { input: workflowInput({ name: 'Leaky', steps: [httpStep({ headers: { [header]: value } })] }) },
      { token: c.manager },
    );
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(issues(r)).toEqual([
      { field: `steps.0.headers.${header}`, message: expect.stringMatching(/secret/) },
    ]);
    const stored = await env.DB.prepare('SELECT COUNT(*) AS n FROM workflows WHERE steps LIKE ?1')
      .bind(`%${value}%`)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it('stores only the references, and lists the secret names', async () => {
    const w = await create(c.manager, {
      name: 'Referenced secrets',
      steps: [
        httpStep({
          headers: {
            Authorization: 'Bearer {{ secrets.DEPLOY_TOKEN }}',
            'X-Api-Key': '{{secrets.PAGER_KEY}}',
          },
          body: '{"sig": "{{ secrets.BODY_SECRET }}"}',
        }),
      ],
      triggers: [{ type: 'webhook', secret: 'HOOK_SECRET' }],
    });
    expect(w.secretNames).toEqual(['BODY_SECRET', 'DEPLOY_TOKEN', 'HOOK_SECRET', 'PAGER_KEY']);
    const row = await env.DB.prepare('SELECT steps, triggers FROM workflows WHERE id = ?1')
      .bind(w.id)
      .first<{ steps: string; triggers: string }>();
    expect(row?.steps).toContain('{{ secrets.DEPLOY_TOKEN }}');
    expect(row?.triggers).toBe('[{"type":"webhook","secret":"HOOK_SECRET"}]');
  });
});

describe('roles', () => {
  it.each(['viewer', 'requester', 'approver1'] as const)('%s reads but may not write', async (role) => {
    const w = await create(c.manager, { name: `Roles ${role}` });
    await gqlOk(GET, { id: w.id }, c[role]);
    await gqlOk(LIST, {}, c[role]);
    for (const [query, vars] of [
      [CREATE_WORKFLOW, { input: workflowInput({ name: `By ${role}` }) }],
      [UPDATE_WORKFLOW, { id: w.id, input: { description: 'x' } }],
      [DEACTIVATE, { id: w.id }],
      [ACTIVATE, { id: w.id }],
      [DELETE, { id: w.id }],
    ] as const) {
      const r = await gql(query, vars, { token: c[role] });
      expect(codes(r)).toEqual(['FORBIDDEN']);
    }
    expect((await gqlOk<{ workflow: Workflow }>(GET, { id: w.id }, c.viewer)).workflow).toMatchObject({
      version: 1,
      status: 'ACTIVE',
    });
  });

  it('needs a token', async () => {
    const r = await gql(LIST, {});
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual(['UNAUTHENTICATED']);
  });
});
