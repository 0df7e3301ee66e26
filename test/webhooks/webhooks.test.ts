import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { STRICT_EGRESS } from '../../src/domain/egress';
import { checkWebhookUrl, eventsOfAuditEntry } from '../../src/domain/webhooks';
import worker from '../../src/runtime/worker/index';
import { type AuthedContext, createRequestContext } from '../../src/usecases/context';
import { deliverWebhook } from '../../src/usecases/webhooks/deliver';
import { createWorkflow, execute, waitFor } from '../execution/helpers';
import { changeInState, createChange, submit } from '../helpers/changes';
import {
  CREATE_ENDPOINT,
  captured,
  createEndpoint,
  DELIVERIES,
  DISABLE,
  deliveries,
  deliveryRow,
  ENABLE,
  freshCast,
  gql,
  gqlOk,
  LIST,
  REDELIVER,
  ROTATE,
  runNow,
  sleep,
  until,
  upstream,
} from './helpers';

const key = () => crypto.randomUUID();

/** Verifies a captured request with the standardwebhooks package (not our own signing code). */
function verify(secret: string, req: { headers: Record<string, string>; body: string }) {
  return new Webhook(secret).verify(req.body, {
    'webhook-id': req.headers['webhook-id'] as string,
    'webhook-timestamp': req.headers['webhook-timestamp'] as string,
    'webhook-signature': req.headers['webhook-signature'] as string,
  }) as { type: string; timestamp: string; data: Record<string, Record<string, unknown>> };
}

describe('registration', () => {
  it('is for admins only', async () => {
    const c = await freshCast();
    for (const tok of [c.viewer, c.requester, c.approver1, c.manager]) {
      const r = await gql(
        CREATE_ENDPOINT,
        { url: 'https://hooks.example.com/x', events: ['change.created'] },
        { token: tok },
      );
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const list = await gql(LIST, {}, { token: tok });
      expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect((await gqlOk<{ webhookEndpoints: unknown[] }>(LIST, {}, c.admin)).webhookEndpoints).toEqual([]);
  });

  it('refuses hostile and malformed URLs, and unknown events', async () => {
    const c = await freshCast();
    const cases: [string, string][] = [
      ['http://localhost:8080/hook', 'EGRESS_DENIED'],
      ['http://169.254.169.254/latest/meta-data/', 'EGRESS_DENIED'],
      ['http://[::1]/hook', 'EGRESS_DENIED'],
      ['http://0x7f000001/hook', 'EGRESS_DENIED'],
      ['http://2130706433/hook', 'EGRESS_DENIED'],
      ['http://10.0.0.7/hook', 'EGRESS_DENIED'],
      ['https://metadata.google.internal/x', 'EGRESS_DENIED'],
      ['file:///etc/passwd', 'VALIDATION_FAILED'],
      ['ftp://example.com/x', 'VALIDATION_FAILED'],
      ['https://user:pass@hooks.example.com/x', 'VALIDATION_FAILED'],
      ['https://token@hooks.example.com/x', 'VALIDATION_FAILED'],
      ['https://hooks.example.com/x#frag', 'VALIDATION_FAILED'],
      ['not a url', 'VALIDATION_FAILED'],
      [`https://hooks.example.com/${'a'.repeat(2100)}`, 'VALIDATION_FAILED'],
    ];
    for (const [url, code] of cases) {
      const r = await gql(CREATE_ENDPOINT, { url, events: ['change.created'] }, { token: c.admin });
      expect(r.errors?.[0]?.extensions?.code, url).toBe(code);
    }
    const unknown = await gql(
      CREATE_ENDPOINT,
      { url: 'https://hooks.example.com/x', events: ['change.exploded'] },
      { token: c.admin },
    );
    expect(unknown.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    const none = await gql(
      CREATE_ENDPOINT,
      { url: 'https://hooks.example.com/x', events: [] },
      { token: c.admin },
    );
    expect(none.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect((await gqlOk<{ webhookEndpoints: unknown[] }>(LIST, {}, c.admin)).webhookEndpoints).toEqual([]);
  });

  it('refuses loopback and plain http outside development, and a host off the tenant allow-list', async () => {
    // The tests run as development with 127.0.0.1 excepted (vitest.config.ts): production rules here.
    const strict = { ...STRICT_EGRESS, allowedHosts: [] };
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'https://127.0.0.1/hook',
      'http://hooks.example.com/x',
    ]) {
      expect(checkWebhookUrl(url, strict, { httpsOnly: true }).ok, url).toBe(false);
    }
    expect(checkWebhookUrl('https://hooks.example.com/x', strict, { httpsOnly: true }).ok).toBe(true);
    const c = await freshCast();
    await gqlOk(
      'mutation { setEgressPolicy(allowedHosts: ["hooks.example.com"]) { restricted } }',
      {},
      c.admin,
    );
    const r = await gql(
      CREATE_ENDPOINT,
      { url: 'https://evil.example.net/x', events: ['change.created'] },
      { token: c.admin },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('EGRESS_DENIED');
  });

  it("never reaches another tenant's endpoint or delivery", async () => {
    const a = await freshCast();
    const b = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(a.admin, upstream(`/capture/${k}/ok`), ['change.created']);
    await createChange(a.requester);
    const [delivery] = await until(
      () => deliveries(a.admin, endpoint.id),
      (d) => d.length === 1,
    );
    for (const op of [ROTATE, DISABLE, ENABLE]) {
      const r = await gql(op, { id: endpoint.id }, { token: b.admin });
      expect(r.errors?.[0]?.extensions?.code).toBe('WEBHOOK_ENDPOINT_NOT_FOUND');
    }
    const log = await gql(DELIVERIES, { endpointId: endpoint.id }, { token: b.admin });
    expect(log.errors?.[0]?.extensions?.code).toBe('WEBHOOK_ENDPOINT_NOT_FOUND');
    const again = await gql(REDELIVER, { deliveryId: delivery?.id }, { token: b.admin });
    expect(again.errors?.[0]?.extensions?.code).toBe('WEBHOOK_DELIVERY_NOT_FOUND');
    // Tenant b's writes never go to a's endpoint.
    await createChange(b.requester);
    await sleep(300);
    expect(await captured(k)).toHaveLength(1);
  });

  it('shows the secret once: never in a listing, the audit trail or the stored row', async () => {
    const c = await freshCast();
    const { secret, endpoint } = await createEndpoint(c.admin, 'https://hooks.example.com/in', [
      'change.created',
    ]);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const noField = await gql('{ webhookEndpoints { id secret } }', {}, { token: c.admin });
    expect(noField.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const listed = await gqlOk<{ webhookEndpoints: unknown[] }>(LIST, {}, c.admin);
    expect(JSON.stringify(listed)).not.toContain(secret.slice(6));
    const rotated = await gqlOk<{ rotateWebhookEndpointSecret: { secret: string } }>(
      ROTATE,
      { id: endpoint.id },
      c.admin,
    );
    const secrets = [secret, rotated.rotateWebhookEndpointSecret.secret].map((s) => s.slice(6));
    const { results: audit } = await env.DB.prepare(
      `SELECT action, before_json, after_json FROM audit_events WHERE tenant_id = ?1 AND target_id = ?2`,
    )
      .bind(c.tenant, endpoint.id)
      .all<{ action: string; before_json: string; after_json: string }>();
    expect(audit.map((a) => a.action).sort()).toEqual([
      'webhook_endpoint.created',
      'webhook_endpoint.secret_rotated',
    ]);
    const row = await env.DB.prepare('SELECT * FROM webhook_endpoints WHERE id = ?1')
      .bind(endpoint.id)
      .first();
    for (const s of secrets) {
      expect(JSON.stringify(audit)).not.toContain(s);
      expect(JSON.stringify(row)).not.toContain(s);
    }
  });
});

describe('delivery', () => {
  it('delivers each event exactly once per endpoint, signed, with a compact snapshot', async () => {
    const c = await freshCast();
    const k1 = key();
    const k2 = key();
    const one = await createEndpoint(c.admin, upstream(`/capture/${k1}/ok`), [
      'change.created',
      'change.submitted',
    ]);
    const two = await createEndpoint(c.admin, upstream(`/capture/${k2}/ok`), ['change.submitted']);
    const change = await createChange(c.requester);
    await submit(c.requester, change.id);
    const got1 = await until(
      () => captured(k1),
      (r) => r.length >= 2,
    );
    const got2 = await until(
      () => captured(k2),
      (r) => r.length >= 1,
    );
    // The cron drains everything due: nothing is sent twice.
    await sleep(500);
    expect(await captured(k1)).toHaveLength(2);
    expect(await captured(k2)).toHaveLength(1);
    const events1 = got1.map((r) => verify(one.secret, r));
    expect(events1.map((e) => e.type)).toEqual(['change.created', 'change.submitted']);
    expect(events1[1]?.data.change).toMatchObject({
      id: change.id,
      previousStatus: 'DRAFT',
      title: change.title,
    });
    expect(events1[1]?.data.change?.version).toBe(change.version + 1);
    expect(got1[0]?.body).not.toContain('implementationPlan');
    const event2 = verify(two.secret, got2[0] as never);
    expect(event2.type).toBe('change.submitted');
    // A receiver that checks with the other endpoint's secret refuses it.
    expect(() => verify(one.secret, got2[0] as never)).toThrow();
    const log = await until(
      () => deliveries(c.admin, one.endpoint.id),
      (d) => d.every((x) => x.status === 'SUCCEEDED'),
    );
    expect(log).toHaveLength(2);
    expect(log.map((d) => d.webhookId).sort()).toEqual(got1.map((r) => r.headers['webhook-id']).sort());
    expect(log[0]).toMatchObject({ attempts: 1, lastResponseCode: 200 });
    expect(log[0]?.responseExcerpt?.length).toBeLessThanOrEqual(512);
  });

  it('a write that fails queues nothing', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/ok`), ['change.submitted']);
    const change = await createChange(c.requester);
    await submit(c.requester, change.id);
    const twice = await gql(
      'mutation($id: ID!) { submitChange(id: $id) { id } }',
      { id: change.id },
      { token: c.requester },
    );
    expect(twice.errors?.length).toBeGreaterThan(0);
    await until(
      () => captured(k),
      (r) => r.length === 1,
    );
    await sleep(300);
    expect(await deliveries(c.admin, endpoint.id)).toHaveLength(1);
  });

  it('retries after a 500 with the same webhook-id, then succeeds', async () => {
    const c = await freshCast();
    const k = key();
    const { secret, endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/flaky/${k}/1/500`), [
      'change.created',
    ]);
    await createChange(c.requester);
    const [first] = await until(
      () => deliveries(c.admin, endpoint.id),
      (d) => d[0]?.attempts === 1,
    );
    expect(first).toMatchObject({ status: 'PENDING', lastResponseCode: 500 });
    expect(Date.parse(first?.nextAttemptAt ?? '')).toBeGreaterThan(Date.now() - 1000);
    await runNow(first?.id as string);
    const after = await deliveryRow(c.tenant, first?.id as string);
    expect(after).toMatchObject({ status: 'SUCCEEDED', attempts: 2, lastStatusCode: 200 });
    const got = await captured(k);
    expect(got).toHaveLength(2);
    expect(got[0]?.headers['webhook-id']).toBe(got[1]?.headers['webhook-id']);
    expect(verify(secret, got[1] as never).type).toBe('change.created');
  });

  it('retries after a timeout', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/hang`), ['change.created']);
    await createChange(c.requester);
    const [d] = await until(
      () => deliveries(c.admin, endpoint.id),
      (x) => x[0]?.attempts === 1,
      25_000,
    );
    expect(d).toMatchObject({ status: 'PENDING', lastResponseCode: null });
    expect(d?.lastError).toMatch(/no response within/);
    expect(d?.nextAttemptAt).not.toBeNull();
  });

  it('orders deliveries per change: a later event waits for an earlier one still pending', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/flaky/${k}/1/503`), [
      'change.created',
      'change.submitted',
    ]);
    const change = await createChange(c.requester);
    const [created] = await until(
      () => deliveries(c.admin, endpoint.id),
      (d) => d[0]?.attempts === 1,
    );
    await submit(c.requester, change.id);
    const log = await until(
      () => deliveries(c.admin, endpoint.id),
      (d) => d.length === 2,
    );
    const submitted = log.find((d) => d.eventType === 'change.submitted');
    await sleep(500);
    // Held back behind the created event: nothing sent for it yet.
    expect((await deliveryRow(c.tenant, submitted?.id as string)).attempts).toBe(0);
    expect(await captured(k)).toHaveLength(1);
    await runNow(submitted?.id as string);
    expect((await deliveryRow(c.tenant, submitted?.id as string)).attempts).toBe(0);
    await runNow(created?.id as string);
    await runNow(submitted?.id as string);
    const got = await until(
      () => captured(k),
      (r) => r.length === 3,
    );
    expect(got.map((r) => JSON.parse(r.body).type)).toEqual([
      'change.created',
      'change.created',
      'change.submitted',
    ]);
  });

  it('redelivers with the same webhook-id', async () => {
    const c = await freshCast();
    const k = key();
    const { secret, endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/ok`), [
      'change.created',
    ]);
    await createChange(c.requester);
    const [d] = await until(
      () => deliveries(c.admin, endpoint.id),
      (x) => x[0]?.status === 'SUCCEEDED',
    );
    const again = await gqlOk<{ redeliverWebhook: { id: string; webhookId: string; redeliveryOf: string } }>(
      REDELIVER,
      { deliveryId: d?.id },
      c.admin,
    );
    expect(again.redeliverWebhook).toMatchObject({ webhookId: d?.webhookId, redeliveryOf: d?.id });
    const got = await until(
      () => captured(k),
      (r) => r.length === 2,
    );
    expect(got[1]?.headers['webhook-id']).toBe(d?.webhookId);
    expect(got[1]?.body).toBe(got[0]?.body);
    verify(secret, got[1] as never);
    const lower = await gql(REDELIVER, { deliveryId: d?.id }, { token: c.manager });
    expect(lower.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('signs with both secrets during a rotation', async () => {
    const c = await freshCast();
    const k = key();
    const { secret: old, endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/ok`), [
      'change.created',
    ]);
    const rotated = await gqlOk<{
      rotateWebhookEndpointSecret: { secret: string; endpoint: { secretVersion: number } };
    }>(ROTATE, { id: endpoint.id }, c.admin);
    const fresh = rotated.rotateWebhookEndpointSecret.secret;
    expect(fresh).not.toBe(old);
    expect(rotated.rotateWebhookEndpointSecret.endpoint.secretVersion).toBe(2);
    await createChange(c.requester);
    const [req] = await until(
      () => captured(k),
      (r) => r.length === 1,
    );
    expect(req?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verify(fresh, req as never).type).toBe('change.created');
    expect(verify(old, req as never).type).toBe('change.created');
    // Once the grace period is over only the new secret signs.
    await env.DB.prepare('UPDATE webhook_endpoints SET previous_expires_at = ?2 WHERE id = ?1')
      .bind(endpoint.id, new Date(Date.now() - 1000).toISOString())
      .run();
    await createChange(c.requester);
    const got = await until(
      () => captured(k),
      (r) => r.length === 2,
    );
    expect(got[1]?.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(() => verify(old, got[1] as never)).toThrow();
    expect(verify(fresh, got[1] as never).type).toBe('change.created');
  });

  it('checks the egress policy again before every attempt', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/ok`), ['change.created']);
    await gqlOk(
      'mutation { setEgressPolicy(allowedHosts: ["hooks.example.com"]) { restricted } }',
      {},
      c.admin,
    );
    await createChange(c.requester);
    const [d] = await until(
      () => deliveries(c.admin, endpoint.id),
      (x) => x[0]?.status === 'FAILED',
    );
    expect(d?.lastError).toMatch(/allow-list/);
    expect(await captured(k)).toHaveLength(0);
  });

  it('does not follow redirects', async () => {
    const c = await freshCast();
    const k = key();
    const k2 = key();
    const target = upstream(`/capture/${k2}/ok`);
    const { endpoint } = await createEndpoint(
      c.admin,
      upstream(`/capture/${k}/redirect?to=${encodeURIComponent(target)}&status=307`),
      ['change.created'],
    );
    await createChange(c.requester);
    const [d] = await until(
      () => deliveries(c.admin, endpoint.id),
      (x) => x[0]?.attempts === 1,
    );
    expect(d).toMatchObject({ status: 'PENDING', lastResponseCode: 307 });
    expect(d?.lastError).toMatch(/redirects are not followed/);
    expect(await captured(k2)).toHaveLength(0);
  });
});

describe('auto-disable', () => {
  it('disables an endpoint after 24 hours of failed deliveries, audited as the system', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/status/500`), [
      'change.created',
    ]);
    await createChange(c.requester);
    const [d] = await until(
      () => deliveries(c.admin, endpoint.id),
      (x) => x[0]?.attempts === 1,
    );
    // Another attempt a day after it was queued: it gives up, and nothing succeeded in that day.
    await runNow(d?.id as string, { createdHoursAgo: 24 });
    expect(await deliveryRow(c.tenant, d?.id as string)).toMatchObject({ status: 'FAILED', attempts: 2 });
    const [listed] = (
      await gqlOk<{ webhookEndpoints: { enabled: boolean; disabledReason: string }[] }>(LIST, {}, c.admin)
    ).webhookEndpoints;
    expect(listed?.enabled).toBe(false);
    expect(listed?.disabledReason).toMatch(/24 hours/);
    const audit = await env.DB.prepare(
      `SELECT actor_id, actor_type, source FROM audit_events WHERE tenant_id = ?1 AND target_id = ?2 AND action = 'webhook_endpoint.disabled'`,
    )
      .bind(c.tenant, endpoint.id)
      .first<{ actor_id: string; actor_type: string; source: string }>();
    expect(audit).toEqual({ actor_id: 'webhook-dispatcher', actor_type: 'system', source: 'system' });
    // Disabled: later events are not delivered.
    await createChange(c.requester);
    await sleep(500);
    expect(await deliveries(c.admin, endpoint.id)).toHaveLength(1);
  });

  it('a failure within the day does not disable; a 410 Gone does at once', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/status/410`), [
      'change.created',
    ]);
    await createChange(c.requester);
    await until(
      () => deliveries(c.admin, endpoint.id),
      (x) => x[0]?.status === 'FAILED',
    );
    const [listed] = (
      await gqlOk<{ webhookEndpoints: { enabled: boolean; disabledReason: string }[] }>(LIST, {}, c.admin)
    ).webhookEndpoints;
    expect(listed).toMatchObject({ enabled: false, disabledReason: 'the receiver answered 410 Gone' });
    const enabled = await gqlOk<{ enableWebhookEndpoint: { enabled: boolean } }>(
      ENABLE,
      { id: endpoint.id },
      c.admin,
    );
    expect(enabled.enableWebhookEndpoint.enabled).toBe(true);

    const k2 = key();
    const other = await createEndpoint(c.admin, upstream(`/capture/${k2}/status/500`), ['change.created']);
    await createChange(c.requester);
    const [d] = await until(
      () => deliveries(c.admin, other.endpoint.id),
      (x) => x[0]?.attempts === 1,
    );
    await runNow(d?.id as string);
    expect((await deliveryRow(c.tenant, d?.id as string)).status).toBe('PENDING');
    const still = (await gqlOk<{ webhookEndpoints: { id: string; enabled: boolean }[] }>(LIST, {}, c.admin))
      .webhookEndpoints;
    expect(still.find((e) => e.id === other.endpoint.id)?.enabled).toBe(true);
  });
});

describe('events', () => {
  it('maps the audit entries of the lifecycle to events', async () => {
    const c = await freshCast();
    const k = key();
    const all = [
      'change.created',
      'change.submitted',
      'change.approved',
      'change.scheduled',
      'change.implementation_started',
      'change.completed',
    ];
    await createEndpoint(c.admin, upstream(`/capture/${k}/ok`), all);
    const change = await changeInState(c, 'COMPLETED');
    const got = await until(
      () => captured(k),
      (r) => r.filter((x) => JSON.parse(x.body).data.change?.id === change.id).length >= all.length,
    );
    const types = got.map((r) => JSON.parse(r.body)).filter((b) => b.data.change?.id === change.id);
    expect(types.map((b) => b.type)).toEqual(all);
    expect(types.at(-1)?.data.change.status).toBe('COMPLETED');
  });

  it('knows deployment.blocked, execution.ended and emergency.override', () => {
    expect(
      eventsOfAuditEntry({
        action: 'deployment.blocked',
        targetType: 'deployment',
        targetId: 'dep_1',
        before: null,
        after: {},
      }),
    ).toEqual([{ type: 'deployment.blocked', subject: 'dep_1', targetType: 'deployment' }]);
    expect(
      eventsOfAuditEntry({
        action: 'execution.ended',
        targetType: 'WorkflowExecution',
        targetId: 'exe_1',
        before: { status: 'RUNNING' },
        after: { status: 'FAILED' },
      }).map((e) => e.type),
    ).toEqual(['execution.ended']);
    expect(
      eventsOfAuditEntry({
        action: 'change.emergency_override',
        targetType: 'ChangeRequest',
        targetId: 'CHG-1',
        before: { status: 'PENDING_APPROVAL' },
        after: { status: 'APPROVED' },
      }).map((e) => e.type),
    ).toEqual(['emergency.override', 'change.approved']);
    expect(
      eventsOfAuditEntry({
        action: 'change.rejection_recorded',
        targetType: 'ChangeRequest',
        targetId: 'CHG-1',
        before: { status: 'PENDING_APPROVAL' },
        after: { status: 'REJECTED' },
      }).map((e) => e.type),
    ).toEqual(['change.rejected']);
    expect(
      eventsOfAuditEntry({
        action: 'change.updated',
        targetType: 'ChangeRequest',
        targetId: 'CHG-1',
        before: {},
        after: { title: 'x' },
      }),
    ).toEqual([]);
  });
});

describe('execution.ended and the log', () => {
  it('announces the end of a workflow execution, without its outputs', async () => {
    const c = await freshCast();
    const k = key();
    const { secret } = await createEndpoint(c.admin, upstream(`/capture/${k}/ok`), ['execution.ended']);
    const workflowId = await createWorkflow(c.manager, [
      {
        id: 'call',
        type: 'http-request',
        url: upstream('/ok'),
        method: 'POST',
        body: '{"token":"s3cr3t-output"}',
      },
    ]);
    const started = await execute(c.manager, workflowId);
    const ended = await waitFor(c.manager, started.id);
    expect(ended.status).toBe('SUCCEEDED');
    const [req] = await until(
      () => captured(k),
      (r) => r.length === 1,
    );
    const event = verify(secret, req as never);
    expect(event.type).toBe('execution.ended');
    expect(event.data.execution).toMatchObject({
      id: started.id,
      workflowId,
      status: 'SUCCEEDED',
      errorCode: null,
    });
    expect(req?.body).not.toContain('s3cr3t-output');
  });

  it('the cron forgets deliveries that ended more than 30 days ago', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/ok`), ['change.created']);
    await createChange(c.requester);
    await createChange(c.requester);
    const log = await until(
      () => deliveries(c.admin, endpoint.id),
      (d) => d.length === 2 && d.every((x) => x.status === 'SUCCEEDED'),
    );
    const old = new Date(Date.now() - 31 * 24 * 3_600_000).toISOString();
    await env.DB.prepare('UPDATE endpoint_deliveries SET ended_at = ?2 WHERE id = ?1')
      .bind(log[0]?.id, old)
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: '* * * * *' }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect((await deliveries(c.admin, endpoint.id)).map((d) => d.id)).toEqual([log[1]?.id]);
  });
});

describe('a runtime that refuses the resolved address', () => {
  it('ends the delivery without an attempt at the host and leaves the breaker alone', async () => {
    const c = await freshCast();
    const k = key();
    const { endpoint } = await createEndpoint(c.admin, upstream(`/capture/${k}/status/500`), [
      'change.created',
    ]);
    await createChange(c.requester);
    const [d] = await until(
      () => deliveries(c.admin, endpoint.id),
      (x) => x[0]?.attempts === 1,
    );
    const reports: string[] = [];
    const refused = Object.assign(
      new Error('egress refused: hooks resolve to 10.0.0.1: private (RFC 1918)'),
      {
        code: 'EGRESS_DENIED',
      },
    );
    const ctx = createRequestContext({
      db: env.DB,
      requestId: 'test',
      principal: { id: 'root', tenantId: c.tenant, roles: ['admin'], kind: 'user', name: null, email: null },
    }) as AuthedContext;
    const outcome = await deliverWebhook(ctx, d?.id as string, {
      fetch: () => Promise.reject(refused),
      breakers: () => ({
        acquire: async () => ({ allowed: true, state: 'CLOSED' }),
        report: async (_host, o) => {
          reports.push(o);
        },
      }),
      secretKeys: loadConfig(env as never).secretKeys,
      // The URL as written is allowed (the tests' exception); the address it resolved to was not.
      egress: { allowPrivate: false, allowPrivateHosts: ['127.0.0.1'] },
      httpsOnly: false,
      timeoutMs: 1000,
      random: () => 0.5,
    });
    expect(outcome).toMatch(/^failed: not sent: egress refused/);
    expect(reports).toEqual(['neutral']);
    expect(await deliveryRow(c.tenant, d?.id as string)).toMatchObject({ status: 'FAILED', attempts: 2 });
    const [listed] = (await gqlOk<{ webhookEndpoints: { enabled: boolean }[] }>(LIST, {}, c.admin))
      .webhookEndpoints;
    expect(listed?.enabled).toBe(true);
  });
});
