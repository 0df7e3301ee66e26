import { beforeAll, describe, expect, it } from 'vitest';
import { cast, gql, gqlOk } from '../helpers/changes';
import { BLOCKED } from '../helpers/egressForms';
import type { GqlResult } from '../helpers/graphql';

// The egress policy at save time, as an attacker with a change manager's role would try it: a
// workflow whose HTTP step aims at an internal address, a host they choose through a template,
// or a host outside the tenant's allow-list. And who may read and set that allow-list.

type Cast = Awaited<ReturnType<typeof cast>>;
type Issue = { field: string; message: string; host?: string; rule?: string };

const CREATE = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id version steps } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { id version } }`;
const POLICY = '{ egressPolicy { allowedHosts restricted updatedBy updatedAt } }';
const SET_POLICY = `mutation($hosts: [String!]!) {
  setEgressPolicy(allowedHosts: $hosts) { allowedHosts restricted updatedBy updatedAt } }`;
const AUDIT = `query($targetId: ID) { auditLog(targetId: $targetId, first: 10) { nodes { action actorId targetType before after } } }`;

const codes = (r: GqlResult<unknown>) => r.errors?.map((e) => e.extensions?.code);
const issues = (r: GqlResult<unknown>) => (r.errors?.[0]?.extensions?.issues ?? []) as Issue[];

const step = (url: string, extra: Record<string, unknown> = {}) => ({
  id: 'call',
  type: 'http-request',
  url,
  method: 'POST',
  // No secret: these cases are about hosts (a secret's own host rule is tested in workflowSecrets).
  ...extra,
});
let n = 0;
const createWith = (tok: string, steps: unknown[]) =>
  gql(CREATE, { input: { name: `egress ${++n}`, steps } }, { token: tok });

describe('saving a workflow whose HTTP step aims at a refused address', () => {
  let c: Cast;
  beforeAll(async () => {
    c = await cast('egress-save');
  });

  // The test pool excepts exactly the loopback upstream's host (EGRESS_ALLOW_PRIVATE_HOSTS=127.0.0.1).
  it('the deployment exception is exactly 127.0.0.1, written so', async () => {
    expect((await createWith(c.manager, [step('http://127.0.0.1:9/x')])).errors).toBeUndefined();
    for (const url of [
      'http://127.0.0.2/',
      'http://localhost:9/',
      'http://0x7f000001:9/',
      'http://127.1:9/',
    ]) {
      expect(codes(await createWith(c.manager, [step(url)])), url).toEqual(['EGRESS_DENIED']);
    }
  });

  it.each(BLOCKED.filter(([, host]) => host !== '127.0.0.1'))(
    'refuses %s with EGRESS_DENIED naming %s and the rule (%s)',
    async (url, host, rule) => {
      const r = await createWith(c.manager, [step(url)]);
      expect(r.status).toBe(400);
      expect(codes(r)).toEqual(['EGRESS_DENIED']);
      const [issue, ...rest] = issues(r);
      expect(rest).toEqual([]);
      expect(issue).toMatchObject({ field: 'steps.0.url', host });
      expect(issue?.rule).toContain(rule);
      expect(issue?.message).toBe(`host ${host} is refused: ${issue?.rule}`);
      expect(r.errors?.[0]?.message).toContain(`steps.0.url: host ${host} is refused: ${issue?.rule}`);
    },
  );

  it('names every refused step, and an edit cannot bring one in either', async () => {
    const r = await createWith(c.manager, [
      step('https://api.example.com/ok'),
      { ...step('http://169.254.169.254/latest/meta-data/iam/'), id: 'meta' },
      { ...step('http://[::ffff:a9fe:a9fe]/'), id: 'mapped' },
    ]);
    expect(codes(r)).toEqual(['EGRESS_DENIED']);
    expect(issues(r).map((i) => [i.field, i.host])).toEqual([
      ['steps.1.url', '169.254.169.254'],
      ['steps.2.url', '[::ffff:a9fe:a9fe]'],
    ]);
    const ok = await gqlOk<{ createWorkflow: { id: string } }>(
      CREATE,
      { input: { name: `egress ${++n}`, steps: [step('https://api.example.com/ok')] } },
      c.manager,
    );
    const edit = await gql(
      UPDATE,
      { id: ok.createWorkflow.id, input: { steps: [step('http://10.1.2.3/admin')] } },
      { token: c.manager },
    );
    expect(codes(edit)).toEqual(['EGRESS_DENIED']);
    expect(issues(edit)[0]).toMatchObject({
      field: 'steps.0.url',
      host: '10.1.2.3',
      rule: 'private (RFC 1918)',
    });
  });

  it.each([
    ['http://{{ inputs.host }}:9999/', 'a host chosen by the caller'],
    ['https://api.example.com{{ inputs.p }}/v1', 'a template right after the host (p = ".attacker.example")'],
    ['https://api.example.com:{{ inputs.port }}/v1', 'a templated port'],
    ['https://{{ inputs.who }}@api.example.com/', 'templated userinfo'],
    ['{{ inputs.scheme }}://api.example.com/', 'a templated scheme'],
  ])('refuses %s (%s) with VALIDATION_FAILED naming steps.0.url', async (url) => {
    const r = await createWith(c.manager, [step(url)]);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(issues(r).map((i) => i.field)).toContain('steps.0.url');
  });

  it('refuses a URL the parser would read differently from its text', async () => {
    for (const url of [
      'http:api.example.com/x',
      'https://api.exa\tmple.com/',
      'https://api.example.com/a b',
    ]) {
      const r = await createWith(c.manager, [step(url)]);
      expect(codes(r), url).toEqual(['VALIDATION_FAILED']);
      expect(issues(r)[0]?.field, url).toBe('steps.0.url');
    }
  });

  it('refuses a Host header, which would name a virtual host the policy never checked', async () => {
    const r = await createWith(c.manager, [
      step('https://api.example.com/', { headers: { host: 'admin.internal' } }),
    ]);
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(issues(r)).toEqual([
      { field: 'steps.0.headers.host', message: 'must not be set: the URL decides the host' },
    ]);
  });

  it('accepts public hosts, with templates in the path and query', async () => {
    const r = await createWith(c.manager, [
      step('https://api.example.com/v1/{{ inputs.item }}?env={{ inputs.env }}'),
      { ...step('http://[2606:4700:4700::1111]/dns-query'), id: 'v6' },
    ]);
    expect(r.errors).toBeUndefined();
  });
});

describe('the tenant egress allow-list', () => {
  let a: Cast;
  let b: Cast;
  beforeAll(async () => {
    a = await cast('egress-policy-a');
    b = await cast('egress-policy-b');
  });

  it('starts empty: no allow-list', async () => {
    const r = await gqlOk<{ egressPolicy: unknown }>(POLICY, {}, a.manager);
    expect(r.egressPolicy).toEqual({ allowedHosts: [], restricted: false, updatedBy: null, updatedAt: null });
  });

  it('only an admin sets it; change managers and admins read it, no one else', async () => {
    for (const tok of [a.manager, a.requester, a.approver1, a.viewer]) {
      const r = await gql(SET_POLICY, { hosts: ['api.example.com'] }, { token: tok });
      expect(codes(r)).toEqual(['FORBIDDEN']);
    }
    for (const tok of [a.requester, a.approver1, a.viewer]) {
      expect(codes(await gql(POLICY, {}, { token: tok }))).toEqual(['FORBIDDEN']);
    }
    const still = await gqlOk<{ egressPolicy: { allowedHosts: string[] } }>(POLICY, {}, a.admin);
    expect(still.egressPolicy.allowedHosts).toEqual([]);
  });

  it('refuses entries that are not exact hosts or *.domain patterns, naming each', async () => {
    const r = await gql(
      SET_POLICY,
      {
        hosts: ['api.example.com', 'https://x.example.com', '*', '*.com', 'x.example.com:443', '0x7f000001'],
      },
      { token: a.admin },
    );
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(issues(r).map((i) => i.field)).toEqual([
      'allowedHosts.1',
      'allowedHosts.2',
      'allowedHosts.3',
      'allowedHosts.4',
      'allowedHosts.5',
    ]);
    const tooMany = Array.from({ length: 101 }, (_, i) => `h${i}.example.com`);
    expect(codes(await gql(SET_POLICY, { hosts: tooMany }, { token: a.admin }))).toEqual([
      'VALIDATION_FAILED',
    ]);
  });

  it('when set, a step may only call hosts on it; per tenant; audited; an empty list clears it', async () => {
    const set = await gqlOk<{ setEgressPolicy: Record<string, unknown> }>(
      SET_POLICY,
      { hosts: ['API.example.com', '*.deploy.example.net', 'api.example.com'] },
      a.admin,
    );
    expect(set.setEgressPolicy).toMatchObject({
      allowedHosts: ['api.example.com', '*.deploy.example.net'],
      restricted: true,
      updatedBy: 'root',
    });
    expect((await gqlOk<{ egressPolicy: unknown }>(POLICY, {}, a.manager)).egressPolicy).toEqual(
      set.setEgressPolicy,
    );

    expect((await createWith(a.manager, [step('https://api.example.com/v1')])).errors).toBeUndefined();
    expect((await createWith(a.manager, [step('https://eu.deploy.example.net/v1')])).errors).toBeUndefined();
    for (const url of [
      'https://attacker.example/collect',
      'https://api.example.com.attacker.example/',
      'https://deploy.example.net/',
    ]) {
      const r = await createWith(a.manager, [step(url)]);
      expect(codes(r), url).toEqual(['EGRESS_DENIED']);
      expect(issues(r)[0]).toMatchObject({
        field: 'steps.0.url',
        host: new URL(url).hostname,
        rule: "not on the tenant's egress allow-list",
      });
    }
    // The allow-list narrows; it never opens an address the default refuses.
    await gqlOk(SET_POLICY, { hosts: ['10.0.0.1', 'api.example.com'] }, a.admin);
    expect(issues(await createWith(a.manager, [step('http://10.0.0.1/')]))[0]?.rule).toBe(
      'private (RFC 1918)',
    );

    // Tenant B has no allow-list: A's does not apply to it, and B's admin cannot see A's.
    expect((await createWith(b.manager, [step('https://attacker.example/collect')])).errors).toBeUndefined();
    expect(
      (await gqlOk<{ egressPolicy: { allowedHosts: string[] } }>(POLICY, {}, b.admin)).egressPolicy
        .allowedHosts,
    ).toEqual([]);

    const cleared = await gqlOk<{ setEgressPolicy: { allowedHosts: string[]; restricted: boolean } }>(
      SET_POLICY,
      { hosts: [] },
      a.admin,
    );
    expect(cleared.setEgressPolicy).toMatchObject({ allowedHosts: [], restricted: false });
    expect((await createWith(a.manager, [step('https://attacker.example/collect')])).errors).toBeUndefined();

    const audit = await gqlOk<{ auditLog: { nodes: Record<string, unknown>[] } }>(
      AUDIT,
      { targetId: 'egress-policy-a' },
      a.admin,
    );
    expect(audit.auditLog.nodes.map((e) => [e.action, e.actorId, e.targetType, e.before, e.after])).toEqual([
      [
        'egress_policy.updated',
        'root',
        'EgressPolicy',
        { allowedHosts: ['10.0.0.1', 'api.example.com'] },
        { allowedHosts: [] },
      ],
      [
        'egress_policy.updated',
        'root',
        'EgressPolicy',
        { allowedHosts: ['api.example.com', '*.deploy.example.net'] },
        { allowedHosts: ['10.0.0.1', 'api.example.com'] },
      ],
      [
        'egress_policy.updated',
        'root',
        'EgressPolicy',
        { allowedHosts: [] },
        { allowedHosts: ['api.example.com', '*.deploy.example.net'] },
      ],
    ]);
  });
});
