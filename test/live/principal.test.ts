import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { hasScope, type Principal, SCOPE_ROLES, type Scope } from '../../src/domain/principal';
import { createGraphQLServer } from '../../src/http/graphqlServer';
import { createLiveFeeds } from '../../src/live/feeds';
import { forTenant, hubPrincipal } from '../../src/live/principal';
import { schema } from '../../src/schema';
import { CREATE, cast, changeInput, createChange } from '../helpers/changes';
import { countingFigures, subscribe } from './fakes';

const yoga = createGraphQLServer(schema, parseConfig(env));

/** Runs an operation through the same Yoga pipeline the hubs use, as `principal`. */
async function runAs(principal: Principal, query: string, variables: Record<string, unknown> = {}) {
  const response = await yoga.fetch(
    new Request('http://hub/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    }),
    {
      db: env.DB,
      config: parseConfig(env),
      requestId: 'hub-principal-test',
      auth: { principal },
      logger: { log: () => {} },
      source: 'graphql',
    },
  );
  return (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { extensions?: { code?: string } }[];
  };
}

describe('the hub principal', () => {
  it('holds the viewer scope and no other, and cannot be widened', () => {
    const principal = hubPrincipal('hub-scope');
    const scopes = Object.keys(SCOPE_ROLES) as Scope[];
    expect(scopes.filter((s) => hasScope(principal, s))).toEqual(['viewer']);
    expect(() => principal.roles.push('admin')).toThrow(TypeError);
    expect(() => {
      (principal as { tenantId: string }).tenantId = 'someone-else';
    }).toThrow(TypeError);
  });

  it('is refused any mutation', async () => {
    const result = await runAs(hubPrincipal('hub-write'), CREATE, { input: changeInput() });
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const { results } = await env.DB.prepare('SELECT id FROM change_requests WHERE tenant_id = ?')
      .bind('hub-write')
      .run();
    expect(results).toEqual([]);
  });

  it('reads only its own tenant’s figures', async () => {
    const a = await cast('hub-reads-a');
    const b = await cast('hub-reads-b');
    await createChange(a.requester);
    await createChange(b.requester);
    await createChange(b.requester);
    const live = createLiveFeeds({
      db: env.DB,
      systemFigures: countingFigures().systemFigures,
      onSubscribers: () => {},
      logger: { log: () => {} },
    });
    const ofA = subscribe(live.port('hub-reads-a').metrics());
    const ofB = subscribe(live.port('hub-reads-b').metrics());
    await expect.poll(() => ofA.values.length + ofB.values.length).toBe(2);
    expect(ofA.values[0]?.kpis.totalChanges).toBe(1);
    expect(ofB.values[0]?.kpis.totalChanges).toBe(2);
    await ofA.stop();
    await ofB.stop();
  });
});

describe('a hub’s tenant', () => {
  it('treats a token for another tenant as no token, and passes its own', () => {
    const own = { principal: hubPrincipal('mine'), error: null };
    expect(forTenant(own, 'mine')).toBe(own);
    expect(forTenant(own, 'theirs')).toEqual({ principal: null, error: null });
    expect(forTenant(own, null).principal).toBeNull();
    const nobody = { principal: null, error: null };
    expect(forTenant(nobody, 'mine')).toBe(nobody);
  });
});
