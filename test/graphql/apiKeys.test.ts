import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { cast, gql, gqlOk } from '../helpers/changes';

const CREATE_KEY = `mutation($name: String!, $roles: [Role!]!, $expiresAt: DateTime) {
  createApiKey(name: $name, roles: $roles, expiresAt: $expiresAt) {
    secret apiKey { id name prefix roles createdBy expiresAt revokedAt } } }`;

interface Created {
  createApiKey: { secret: string; apiKey: { id: string; name: string; prefix: string; roles: string[] } };
}

/** Sends an operation authenticated by an API key, in the header an integration would use. */
async function withKey(
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
  header = 'x-api-key',
) {
  const res = await exports.default.fetch('http://cf.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [header]: header === 'authorization' ? `Bearer ${key}` : key,
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, never>;
      errors?: { message: string; extensions: { code: string } }[];
    },
  };
}

describe('API keys', () => {
  it('creates a key shown once, lists it without the secret and stores only a hash', async () => {
    const c = await cast('keys-create');
    const created = (await gqlOk<Created>(CREATE_KEY, { name: 'CI pipeline', roles: ['requester'] }, c.admin))
      .createApiKey;
    expect(created.secret).toMatch(/^cf_[A-Za-z0-9]{40}$/);
    expect(created.secret.startsWith(created.apiKey.prefix)).toBe(true);
    expect(created.apiKey).toMatchObject({ name: 'CI pipeline', roles: ['requester'], createdBy: 'root' });

    const listed = await gqlOk<{ apiKeys: Record<string, unknown>[] }>(
      '{ apiKeys { id name prefix } }',
      {},
      c.admin,
    );
    expect(listed.apiKeys).toEqual([
      { id: created.apiKey.id, name: 'CI pipeline', prefix: created.apiKey.prefix },
    ]);
    const row = await env.DB.prepare('SELECT * FROM api_keys WHERE id = ?1').bind(created.apiKey.id).first();
    expect(JSON.stringify(row)).not.toContain(created.secret);
    const noSecretField = await gql('{ apiKeys { secret } }', {}, { token: c.admin });
    expect(noSecretField.status).toBe(400);
  });

  it.each(['x-api-key', 'authorization'])(
    'acts as the key with its roles and tenant (%s header)',
    async (header) => {
      const c = await cast('keys-use');
      const { secret, apiKey } = (
        await gqlOk<Created>(CREATE_KEY, { name: 'Deploy bot', roles: ['requester'] }, c.admin)
      ).createApiKey;
      const me = await withKey(secret, '{ me { id tenantId roles kind } }', {}, header);
      expect(me.body.data?.me).toEqual({
        id: apiKey.id,
        tenantId: 'keys-use',
        roles: ['requester'],
        kind: 'api_key',
      });

      const created = await withKey(
        secret,
        `mutation { createChangeRequest(input: { title: "Deploy v2", description: "Release", impact: LOW,
         urgency: LOW, affectedServices: ["web"] }) { id requester { id displayName } } }`,
        {},
        header,
      );
      const change = (
        created.body.data as unknown as { createChangeRequest: { id: string; requester: unknown } }
      ).createChangeRequest;
      // A key is its owner: the change is the admin's who created the key (segregation of duties).
      expect(change.requester).toMatchObject({ id: 'root' });

      // The audit log names the key as the actor.
      const log = await gqlOk<{
        auditLog: { nodes: { actorId: string; actorType: string; action: string }[] };
      }>(
        'query($t: ID) { auditLog(targetId: $t) { nodes { actorId actorType action } } }',
        { t: change.id },
        c.admin,
      );
      expect(log.auditLog.nodes).toEqual([
        { actorId: apiKey.id, actorType: 'api_key', action: 'change.created' },
      ]);

      // Its roles bound it like any caller's.
      const forbidden = await withKey(secret, '{ apiKeys { id } }', {}, header);
      expect(forbidden.body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    },
  );

  it('refuses a revoked key at once, and says so', async () => {
    const c = await cast('keys-revoke');
    const { secret, apiKey } = (
      await gqlOk<Created>(CREATE_KEY, { name: 'Old bot', roles: ['viewer'] }, c.admin)
    ).createApiKey;
    expect((await withKey(secret, '{ me { id } }')).status).toBe(200);
    const revoked = await gqlOk<{ revokeApiKey: { revokedAt: string | null } }>(
      'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
      { id: apiKey.id },
      c.admin,
    );
    expect(revoked.revokeApiKey.revokedAt).not.toBeNull();
    const after = await withKey(secret, '{ me { id } }');
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    expect(after.body.errors?.[0]?.message).toContain('revoked');
  });

  it('refuses an expired key', async () => {
    const c = await cast('keys-expire');
    const soon = new Date(Date.now() + 1500).toISOString();
    const { secret } = (
      await gqlOk<Created>(CREATE_KEY, { name: 'Short lived', roles: ['viewer'], expiresAt: soon }, c.admin)
    ).createApiKey;
    await new Promise((r) => setTimeout(r, 1600));
    const res = await withKey(secret, '{ me { id } }');
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.message).toContain('expired');
  });

  it.each([
    ['an unknown key', `cf_${'A'.repeat(40)}`, 'not recognised'],
    ['a malformed key', 'cf_short', 'malformed'],
  ])('refuses %s with 401', async (_case, key, message) => {
    const res = await withKey(key, '{ me { id } }');
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.message).toContain(message);
  });

  it('lets only admins manage keys, and only their own tenant’s', async () => {
    const a = await cast('keys-tenant-a');
    const b = await cast('keys-tenant-b');
    const { apiKey } = (await gqlOk<Created>(CREATE_KEY, { name: 'A bot', roles: ['viewer'] }, a.admin))
      .createApiKey;
    const byManager = await gql(CREATE_KEY, { name: 'Sneaky', roles: ['admin'] }, { token: a.manager });
    expect(byManager.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const crossTenant = await gql(
      'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
      { id: apiKey.id },
      { token: b.admin },
    );
    expect(crossTenant.errors?.[0]?.extensions?.code).toBe('API_KEY_NOT_FOUND');
    const listB = await gqlOk<{ apiKeys: unknown[] }>('{ apiKeys { id } }', {}, b.admin);
    expect(listB.apiKeys).toEqual([]);
  });

  it('validates the key definition', async () => {
    const c = await cast('keys-validate');
    const noRoles = await gql(CREATE_KEY, { name: 'No roles', roles: [] }, { token: c.admin });
    expect(noRoles.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    const unknownRole = await gql(CREATE_KEY, { name: 'Bad role', roles: ['root'] }, { token: c.admin });
    expect(unknownRole.status).toBe(400);
    const past = await gql(
      CREATE_KEY,
      { name: 'Past', roles: ['viewer'], expiresAt: '2020-01-01T00:00:00Z' },
      { token: c.admin },
    );
    expect(past.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });
});
