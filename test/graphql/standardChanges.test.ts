import { describe, expect, it } from 'vitest';
import {
  type Change,
  CREATE,
  cast,
  changeInput,
  createChange,
  GET,
  gql,
  gqlError,
  gqlOk,
  submit,
} from '../helpers/changes';
import {
  CREATE_TEMPLATE,
  FROM_TEMPLATE,
  fromTemplate,
  createTemplate as newTemplate,
  RETIRE_TEMPLATE,
  TEMPLATE,
  TEMPLATES,
  type Template,
  templateInput,
  UPDATE_TEMPLATE,
  windowIn,
} from '../helpers/templates';

/**
 * Standard changes are pre-authorised templates: a requester cannot declare a change STANDARD,
 * cannot attach a runbook, and cannot vary anything of a template but its title variables and
 * window. Each attempt below is what an attacker with a requester token would try.
 */

let tenants = 0;
const freshCast = () => cast(`std-${Date.now().toString(36)}-${++tenants}`);

const UPDATE = `mutation($id: ID!, $input: UpdateChangeRequestInput!) {
  updateChangeRequest(id: $id, input: $input) { id type version runbookWorkflowId runbookAttachedBy } }`;
const WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`;
const AUDIT = `query($id: ID!) { auditLog(targetId: $id) { nodes { action actorId before after } } }`;

async function workflow(tok: string, name = 'Rotate certificates') {
  return (
    await gqlOk<{ createWorkflow: { id: string } }>(
      WORKFLOW,
      { input: { name, steps: [{ id: 'noop', type: 'transform', spec: { value: 1 } }] } },
      tok,
    )
  ).createWorkflow.id;
}

const read = async (tok: string, id: string) => (await gqlOk<{ change: Change }>(GET, { id }, tok)).change;

async function auditOf(tok: string, id: string) {
  const d = await gqlOk<{
    auditLog: { nodes: { action: string; actorId: string; before: unknown; after: unknown }[] };
  }>(AUDIT, { id }, tok);
  return d.auditLog.nodes.reverse();
}

describe('a requester without a template', () => {
  it('cannot create a STANDARD change: CHANGE_STANDARD_REQUIRES_TEMPLATE (422) points to the templates', async () => {
    const c = await freshCast();
    const err = await gqlError(
      CREATE,
      { input: changeInput({ type: 'STANDARD', impact: 'LOW', urgency: 'LOW' }) },
      c.requester,
    );
    expect(err.status).toBe(422);
    expect(err.code).toBe('CHANGE_STANDARD_REQUIRES_TEMPLATE');
    expect(err.message).toContain('standardChangeTemplates');
    expect(err.message).toContain('createChangeFromTemplate');
    // Not for a change manager either: STANDARD means "from a template", whoever asks.
    expect((await gqlError(CREATE, { input: changeInput({ type: 'STANDARD' }) }, c.manager)).code).toBe(
      'CHANGE_STANDARD_REQUIRES_TEMPLATE',
    );
    const list = await gqlOk<{ changes: { nodes: unknown[] } }>('{ changes { nodes { id } } }', {}, c.viewer);
    expect(list.changes.nodes).toEqual([]);
  });

  it('cannot turn a draft STANDARD by an update', async () => {
    const c = await freshCast();
    const draft = await createChange(c.requester, { impact: 'LOW', urgency: 'LOW' });
    const err = await gqlError(UPDATE, { id: draft.id, input: { type: 'STANDARD' } }, c.requester);
    expect(err.status).toBe(422);
    expect(err.code).toBe('CHANGE_STANDARD_REQUIRES_TEMPLATE');
    expect(await read(c.viewer, draft.id)).toMatchObject({ type: 'NORMAL', version: 1 });
    // Submitted as it is, the LOW-risk NORMAL change still goes to the CAB.
    expect((await submit(c.requester, draft.id)).status).toBe('PENDING_APPROVAL');
  });

  it('cannot attach a runbook on create: FORBIDDEN, and an unknown id tells nothing more', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager);
    for (const runbookWorkflowId of [wf, 'wf_does_not_exist']) {
      const err = await gqlError(CREATE, { input: changeInput({ runbookWorkflowId }) }, c.requester);
      expect(err.status).toBe(403);
      expect(err.code).toBe('FORBIDDEN');
      expect(err.message).toContain('change manager');
    }
    const list = await gqlOk<{ changes: { nodes: unknown[] } }>('{ changes { nodes { id } } }', {}, c.viewer);
    expect(list.changes.nodes).toEqual([]);
  });

  it('cannot attach a runbook on update; a change manager can, and is recorded as having done so', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager);
    const draft = await createChange(c.requester);
    const err = await gqlError(UPDATE, { id: draft.id, input: { runbookWorkflowId: wf } }, c.requester);
    expect(err.code).toBe('FORBIDDEN');
    const unchanged = await gqlOk<{ change: { version: number; runbookWorkflowId: string | null } }>(
      'query($id: ID!) { change(id: $id) { version runbookWorkflowId } }',
      { id: draft.id },
      c.viewer,
    );
    expect(unchanged.change).toEqual({ version: 1, runbookWorkflowId: null });

    const attached = await gqlOk<{
      updateChangeRequest: { runbookWorkflowId: string; runbookAttachedBy: string };
    }>(UPDATE, { id: draft.id, input: { runbookWorkflowId: wf } }, c.manager);
    expect(attached.updateChangeRequest).toMatchObject({ runbookWorkflowId: wf, runbookAttachedBy: 'max' });
  });
});

describe('standard change templates', () => {
  it('are written by change managers and admins only; every role that reads changes reads them', async () => {
    const c = await freshCast();
    for (const who of ['requester', 'approver1', 'viewer'] as const) {
      const err = await gqlError(CREATE_TEMPLATE, { input: templateInput() }, c[who]);
      expect([who, err.code, err.status]).toEqual([who, 'FORBIDDEN', 403]);
    }
    const byManager = await newTemplate(c.manager);
    const byAdmin = await newTemplate(c.admin, { name: 'Admin template' });
    expect(byManager).toMatchObject({ status: 'ACTIVE', version: 1, createdBy: 'max' });
    expect(byAdmin.createdBy).toBe('root');
    for (const [query, vars] of [
      [UPDATE_TEMPLATE, { id: byManager.id, input: { riskLevel: 'LOW', affectedServices: ['x'] } }],
      [RETIRE_TEMPLATE, { id: byManager.id }],
    ] as const) {
      expect((await gqlError(query, vars, c.requester)).code).toBe('FORBIDDEN');
    }
    for (const who of ['requester', 'approver1', 'viewer'] as const) {
      const list = await gqlOk<{ standardChangeTemplates: Template[] }>(TEMPLATES, {}, c[who]);
      expect(list.standardChangeTemplates.map((t) => t.id).sort()).toEqual([byManager.id, byAdmin.id].sort());
    }
    const one = await gqlOk<{ standardChangeTemplate: Template }>(TEMPLATE, { id: byManager.id }, c.viewer);
    expect(one.standardChangeTemplate.version).toBe(1);
  });

  it('keep every version, guard against stale edits, and audit each write', async () => {
    const c = await freshCast();
    const t = await newTemplate(c.manager);
    const v2 = await gqlOk<{ updateStandardChangeTemplate: Template }>(
      UPDATE_TEMPLATE,
      { id: t.id, input: { affectedServices: ['edge', 'cdn'] }, expectedVersion: 1 },
      c.manager,
    );
    expect(v2.updateStandardChangeTemplate).toMatchObject({ version: 2, affectedServices: ['edge', 'cdn'] });
    const stale = await gqlError(
      UPDATE_TEMPLATE,
      { id: t.id, input: { riskLevel: 'MEDIUM' }, expectedVersion: 1 },
      c.admin,
    );
    expect([stale.code, stale.status]).toEqual(['TEMPLATE_VERSION_CONFLICT', 409]);
    const retired = await gqlOk<{ retireStandardChangeTemplate: Template }>(
      RETIRE_TEMPLATE,
      { id: t.id, expectedVersion: 2 },
      c.admin,
    );
    expect(retired.retireStandardChangeTemplate).toMatchObject({
      status: 'RETIRED',
      version: 3,
      updatedBy: 'root',
    });
    expect(retired.retireStandardChangeTemplate.retiredAt).not.toBeNull();

    const history = await gqlOk<{
      standardChangeTemplate: { versions: { version: number; affectedServices: string[]; status: string }[] };
    }>(TEMPLATE, { id: t.id }, c.viewer);
    expect(history.standardChangeTemplate.versions).toEqual([
      { version: 3, affectedServices: ['edge', 'cdn'], status: 'RETIRED', updatedBy: 'root' },
      { version: 2, affectedServices: ['edge', 'cdn'], status: 'ACTIVE', updatedBy: 'max' },
      { version: 1, affectedServices: ['edge'], status: 'ACTIVE', updatedBy: 'max' },
    ]);
    // A retired template is final: no edit, no second retirement; listed only when asked for.
    expect((await gqlError(UPDATE_TEMPLATE, { id: t.id, input: { name: 'Again' } }, c.manager)).code).toBe(
      'TEMPLATE_RETIRED',
    );
    expect((await gqlError(RETIRE_TEMPLATE, { id: t.id }, c.manager)).code).toBe('TEMPLATE_RETIRED');
    const active = await gqlOk<{ standardChangeTemplates: Template[] }>(TEMPLATES, {}, c.viewer);
    expect(active.standardChangeTemplates).toEqual([]);
    const all = await gqlOk<{ standardChangeTemplates: Template[] }>(
      TEMPLATES,
      { includeRetired: true },
      c.viewer,
    );
    expect(all.standardChangeTemplates.map((x) => x.id)).toEqual([t.id]);

    const trail = await auditOf(c.admin, t.id);
    expect(trail.map((e) => [e.action, e.actorId])).toEqual([
      ['standard_change_template.created', 'max'],
      ['standard_change_template.updated', 'max'],
      ['standard_change_template.retired', 'root'],
    ]);
    expect(trail[1]).toMatchObject({
      before: { version: 1, affectedServices: ['edge'] },
      after: { version: 2, affectedServices: ['edge', 'cdn'] },
    });
    const chain = await gqlOk<{ verifyAuditChain: { valid: boolean } }>(
      '{ verifyAuditChain { valid } }',
      {},
      c.manager,
    );
    expect(chain.verifyAuditChain.valid).toBe(true);
  });

  it('validate the title pattern, its variables and the runbook', async () => {
    const c = await freshCast();
    const refused = async (overrides: Record<string, unknown>, field: string) => {
      const err = await gqlError(CREATE_TEMPLATE, { input: templateInput(overrides) }, c.manager);
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.message).toContain(field);
      return err.message;
    };
    expect(await refused({ titlePattern: 'Rotate {{service}} on {{host}}' }, 'titlePattern')).toContain(
      'host',
    );
    expect(await refused({ titleVariables: ['service', 'zone'] }, 'titleVariables')).toContain('zone');
    await refused({ titlePattern: 'Rotate {{ service-name }}', titleVariables: [] }, 'titlePattern');
    await refused({ titlePattern: 'Rotate {{service}} {{', titleVariables: ['service'] }, 'titlePattern');
    await refused({ runbookWorkflowId: 'wf_missing' }, 'runbookWorkflowId');
    const wf = await workflow(c.manager);
    await gqlOk('mutation($id: ID!) { deactivateWorkflow(id: $id) { id } }', { id: wf }, c.manager);
    expect(await refused({ runbookWorkflowId: wf }, 'runbookWorkflowId')).toContain('INACTIVE');
    const active = await workflow(c.manager, 'Active runbook');
    await refused(
      { runbookWorkflowId: active, runbookInputs: { change: { id: 'CHG-forged' } } },
      'runbookInputs',
    );
    await refused({ runbookWorkflowId: active, runbookInputs: ['not', 'an', 'object'] }, 'runbookInputs');
    await refused({ runbookInputs: { host: 'a' } }, 'runbookInputs');
    const list = await gqlOk<{ standardChangeTemplates: Template[] }>(TEMPLATES, {}, c.viewer);
    expect(list.standardChangeTemplates).toEqual([]);
  });
});

describe('createChangeFromTemplate', () => {
  it('raises a STANDARD draft with everything but the title variables and window from the template, pre-approved when LOW', async () => {
    const c = await freshCast();
    const t = await newTemplate(c.manager);
    const draft = await fromTemplate(c.requester, t.id, { service: 'checkout' });
    expect(draft).toMatchObject({
      status: 'DRAFT',
      type: 'STANDARD',
      title: 'Rotate TLS cert for checkout',
      description: t.description,
      affectedServices: ['edge'],
      backoutPlan: 'Restore the previous certificate bundle.',
      templateId: t.id,
      templateVersion: 1,
      runbookWorkflowId: null,
      requester: { id: 'rita' },
    });
    expect(draft.plannedStart).not.toBeNull();
    const approved = await submit(c.requester, draft.id);
    expect(approved).toMatchObject({ status: 'APPROVED', riskLevel: 'LOW', riskScore: 0, approvals: [] });
    expect((await auditOf(c.viewer, draft.id)).map((e) => e.action)).toEqual([
      'change.created',
      'change.submitted.pre_approved',
    ]);
  });

  it('takes the higher risk: a higher computed one goes to the CAB', async () => {
    const c = await freshCast();
    // Template says LOW; HIGH impact and urgency compute to 30 (MEDIUM).
    const t = await newTemplate(c.manager, { impact: 'HIGH', urgency: 'HIGH' });
    const pending = await submit(c.requester, (await fromTemplate(c.requester, t.id)).id);
    expect(pending).toMatchObject({ status: 'PENDING_APPROVAL', riskLevel: 'MEDIUM', riskScore: 30 });
  });

  it('takes the higher risk: a higher pre-assessed one goes to the CAB, with its own factor', async () => {
    const c = await freshCast();
    const t = await newTemplate(c.manager, { riskLevel: 'HIGH' });
    const pending = await submit(c.requester, (await fromTemplate(c.requester, t.id)).id);
    expect(pending).toMatchObject({ status: 'PENDING_APPROVAL', riskLevel: 'HIGH', riskScore: 50 });
    expect(pending.riskFactors).toContainEqual({
      key: 'template_risk',
      label: 'Standard change template pre-assessed at HIGH',
      contribution: 50,
    });
  });

  it('refuses a retired template, and a change raised before the retirement goes to the CAB', async () => {
    const c = await freshCast();
    const t = await newTemplate(c.manager);
    const early = await fromTemplate(c.requester, t.id);
    await gqlOk(RETIRE_TEMPLATE, { id: t.id }, c.manager);
    const err = await gqlError(
      FROM_TEMPLATE,
      { templateId: t.id, input: { titleVariables: [{ name: 'service', value: 'x' }], ...windowIn(3) } },
      c.requester,
    );
    expect([err.code, err.status]).toEqual(['TEMPLATE_RETIRED', 409]);
    expect((await submit(c.requester, early.id)).status).toBe('PENDING_APPROVAL');
  });

  it('does not find another tenant’s template', async () => {
    const a = await freshCast();
    const b = await freshCast();
    const t = await newTemplate(a.manager);
    const err = await gqlError(
      FROM_TEMPLATE,
      { templateId: t.id, input: { titleVariables: [{ name: 'service', value: 'x' }], ...windowIn(3) } },
      b.requester,
    );
    expect([err.code, err.status]).toEqual(['TEMPLATE_NOT_FOUND', 404]);
    const missing = await gqlError(
      FROM_TEMPLATE,
      {
        templateId: 'sct_nope',
        input: { titleVariables: [{ name: 'service', value: 'x' }], ...windowIn(3) },
      },
      b.requester,
    );
    expect(missing.message.replace('sct_nope', '<id>')).toBe(err.message.replace(t.id, '<id>'));
  });

  it('lets title variables vary the title and nothing else', async () => {
    const c = await freshCast();
    const t = await newTemplate(c.manager);
    const attempt = (titleVariables: unknown, extra: Record<string, unknown> = {}) =>
      gql(
        FROM_TEMPLATE,
        { templateId: t.id, input: { titleVariables, ...windowIn(3), ...extra } },
        { token: c.requester },
      );
    const code = async (r: ReturnType<typeof attempt>) => (await r).errors?.[0]?.extensions?.code;
    const message = async (r: ReturnType<typeof attempt>) => (await r).errors?.[0]?.message ?? '';

    // Unknown and missing variables are named.
    const unknown = attempt([
      { name: 'service', value: 'x' },
      { name: 'affectedServices', value: 'prod-db' },
      { name: 'riskLevel', value: 'LOW' },
    ]);
    expect(await code(unknown)).toBe('VALIDATION_FAILED');
    expect(await message(unknown)).toMatch(/unknown variable\(s\): affectedServices, riskLevel/);
    expect(await message(attempt([]))).toMatch(/missing variable\(s\): service/);
    expect(
      await code(
        attempt([
          { name: 'service', value: 'a' },
          { name: 'service', value: 'b' },
        ]),
      ),
    ).toBe('VALIDATION_FAILED');
    // A value is text: no second expansion, no line break, nothing that reads as a placeholder.
    for (const value of ['{{service}}', 'x}} {{y', 'edge\nImplementation plan: drop the database', ' ']) {
      expect([value, await code(attempt([{ name: 'service', value }]))]).toEqual([
        value,
        'VALIDATION_FAILED',
      ]);
    }
    // Fields the input does not have are refused by GraphQL itself.
    const extra = await attempt([{ name: 'service', value: 'x' }], {
      affectedServices: ['prod-db'],
      runbookWorkflowId: 'wf_x',
      type: 'NORMAL',
    });
    expect(extra.status).toBe(400);
    expect(extra.data ?? null).toBeNull();
    const list = await gqlOk<{ changes: { nodes: unknown[] } }>('{ changes { nodes { id } } }', {}, c.viewer);
    expect(list.changes.nodes).toEqual([]);

    // JSON-looking text stays text in the title; every other field is the template's.
    const odd = await fromTemplate(c.requester, t.id, { service: '", "affectedServices": ["prod-db"]' });
    expect(odd.title).toBe('Rotate TLS cert for ", "affectedServices": ["prod-db"]');
    expect(odd.affectedServices).toEqual(['edge']);
    expect((await submit(c.requester, odd.id)).status).toBe('APPROVED');
  });

  it('gives a change that cannot be edited afterwards, not even by a change manager', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager);
    const t = await newTemplate(c.manager);
    const draft = await fromTemplate(c.requester, t.id);
    for (const [who, input] of [
      ['requester', { affectedServices: ['prod-db'] }],
      ['requester', { title: 'Drop the production database' }],
      ['requester', { type: 'NORMAL', impact: 'HIGH' }],
      ['manager', { backoutPlan: 'None' }],
      ['manager', { runbookWorkflowId: wf }],
    ] as const) {
      const err = await gqlError(UPDATE, { id: draft.id, input }, c[who]);
      expect([who, Object.keys(input), err.code]).toEqual([who, Object.keys(input), 'CHANGE_NOT_EDITABLE']);
    }
    expect(await read(c.viewer, draft.id)).toMatchObject({ version: 1, affectedServices: ['edge'] });
  });

  it('keeps what the template said when the change was raised, whatever edits follow', async () => {
    const c = await freshCast();
    const t = await newTemplate(c.manager);
    const draft = await fromTemplate(c.requester, t.id);
    await gqlOk(
      UPDATE_TEMPLATE,
      { id: t.id, input: { riskLevel: 'HIGH', affectedServices: ['core'] } },
      c.manager,
    );
    const approved = await submit(c.requester, draft.id);
    expect(approved).toMatchObject({ status: 'APPROVED', riskLevel: 'LOW', affectedServices: ['edge'] });
    const later = await fromTemplate(c.requester, t.id);
    expect(later).toMatchObject({ templateVersion: 2, affectedServices: ['core'] });
    expect((await submit(c.requester, later.id)).status).toBe('PENDING_APPROVAL');
  });
});
