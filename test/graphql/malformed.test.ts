import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import { CREATE, changeInput } from '../helpers/changes';

/**
 * Bad input of every kind: never a 500, always an error with a message (and a code where we own
 * it), and nothing written. Every request is sent by an admin of a tenant that stays empty.
 */
const TENANT = 'malformed-input';
let admin: string;

beforeAll(async () => {
  admin = await token({ sub: 'mal', tenant: TENANT, roles: ['admin'] });
});

/** The GraphQL-over-HTTP media type: request errors are 4xx, not 200. */
const GQL_RESPONSE = 'application/graphql-response+json';

interface Send {
  method?: string;
  path?: string;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  contentType?: string | null;
  accept?: string;
}

async function send({ method = 'POST', path = '/graphql', body, contentType, accept = GQL_RESPONSE }: Send) {
  const headers: Record<string, string> = { authorization: `Bearer ${admin}`, accept };
  const ct = contentType === undefined ? 'application/json' : contentType;
  if (ct !== null) headers['content-type'] = ct;
  const res = await exports.default.fetch(`http://cf.test${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // asserted below: every refusal must be JSON
  }
  return { status: res.status, headers: res.headers, text, json };
}

type Errors = { message: string; extensions?: { code?: string; issues?: { field: string }[] } }[];

const create = (input: Record<string, unknown>) => ({ query: CREATE, variables: { input } });
const createWith = (overrides: Record<string, unknown>) => create(changeInput(overrides));
const FREEZE = `mutation($name: String!, $startsAt: DateTime!, $endsAt: DateTime!) {
  createFreezeWindow(name: $name, startsAt: $startsAt, endsAt: $endsAt) { id } }`;
const freeze = (startsAt: unknown, endsAt: unknown = '2031-01-02T00:00:00Z') => ({
  query: FREEZE,
  variables: { name: 'Year-end freeze', startsAt, endsAt },
});
const LIST = 'query($after: String, $first: Int) { changes(after: $after, first: $first) { nodes { id } } }';
const AUDIT =
  'query($after: String, $first: Int) { auditLog(after: $after, first: $first) { nodes { seq } } }';
const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, '');

interface Case {
  label: string;
  request: Send;
  status: number;
  /** extensions.code of the first error: every refusal carries one. */
  code: string;
  /** A field the error must name (message and issues). */
  field?: string;
  message?: RegExp;
}

const cases: Case[] = [
  // Transport: the body
  {
    label: 'a body that is not JSON',
    request: { body: '{"query": "mutation {' },
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    label: 'a JSON array body (batching is off)',
    request: { body: [createWith({}), createWith({})] },
    status: 400,
    code: 'BAD_REQUEST',
    message: /batching/i,
  },
  { label: 'an empty body', request: { body: '' }, status: 400, code: 'BAD_REQUEST' },
  { label: 'a JSON null body', request: { body: 'null' }, status: 400, code: 'BAD_REQUEST' },
  {
    label: 'a JSON string body',
    request: { body: JSON.stringify(CREATE) },
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    label: 'no query',
    request: { body: { variables: {} } },
    status: 400,
    code: 'BAD_REQUEST',
    message: /query/i,
  },
  { label: '`query` that is a number', request: { body: { query: 42 } }, status: 400, code: 'BAD_REQUEST' },
  {
    label: '`query` that is an object',
    request: { body: { query: { kind: 'Document', definitions: [] } } },
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    label: '`variables` that is a string',
    request: { body: { query: CREATE, variables: 'input' } },
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    label: '`extensions` that is a string',
    request: { body: { ...createWith({}), extensions: 'x' } },
    status: 400,
    code: 'BAD_REQUEST',
  },
  // The document
  {
    label: 'a syntax error',
    request: { body: { query: 'mutation { createChangeRequest(input: {title: "x" }', variables: {} } },
    status: 400,
    code: 'GRAPHQL_PARSE_FAILED',
    message: /Syntax Error/,
  },
  {
    label: 'an unknown field',
    request: {
      body: {
        query: `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id secret } }`,
        variables: { input: changeInput() },
      },
    },
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /Cannot query field "secret"/,
  },
  {
    label: 'an unknown argument',
    request: {
      body: {
        query: `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input, force: true) { id } }`,
        variables: { input: changeInput() },
      },
    },
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /Unknown argument "force"/,
  },
  {
    label: 'an unknown input field',
    request: { body: createWith({ approved: true }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /approved/,
  },
  {
    label: 'an unknown variable type',
    request: { body: { query: 'query($x: Nope) { me { id } }', variables: {} } },
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /Nope/,
  },
  {
    label: 'an operationName that is not in the document',
    request: { body: { ...createWith({}), operationName: 'Other' } },
    status: 400,
    code: 'OPERATION_RESOLUTION_FAILURE',
    message: /operation/i,
  },
  {
    label: 'two operations and no operationName',
    request: { body: { query: `${CREATE} query Me { me { id } }`, variables: { input: changeInput() } } },
    status: 400,
    code: 'OPERATION_RESOLUTION_FAILURE',
    message: /operation/i,
  },
  // Variables
  {
    label: 'a string for an Int',
    request: { body: { query: LIST, variables: { first: 'ten' } } },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /Int cannot represent/,
  },
  {
    label: 'a number for a String',
    request: { body: createWith({ title: 12345 }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /String cannot represent/,
  },
  {
    label: 'an unknown enum value',
    request: { body: createWith({ impact: 'CATASTROPHIC' }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /CATASTROPHIC.*Level/,
  },
  {
    label: 'a missing required variable',
    request: { body: { query: CREATE, variables: {} } },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /\$input.*was not provided/,
  },
  {
    label: 'null for a non-null variable',
    request: { body: { query: CREATE, variables: { input: null } } },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /\$input.*must not be null/,
  },
  {
    label: 'null for a non-null input field',
    request: { body: createWith({ title: null }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /title/,
  },
  {
    label: 'a missing required input field',
    request: { body: create({ ...changeInput(), description: undefined }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /description/,
  },
  // Scalars and limits
  {
    label: 'an invalid DateTime variable',
    request: { body: freeze('next tuesday') },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: /DateTime must be an ISO-8601/,
  },
  {
    label: 'a DateTime without an offset',
    request: { body: freeze('2031-01-01T00:00:00') },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    label: 'a DateTime on a day that does not exist',
    request: { body: freeze('2031-02-30T00:00:00Z') },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    label: 'a number for a DateTime',
    request: { body: freeze(1_700_000_000_000) },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    label: 'an invalid DateTime literal',
    request: {
      body: {
        query: 'mutation { createFreezeWindow(name: "Freeze", startsAt: "soon", endsAt: "later") { id } }',
      },
    },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    label: 'an oversize title',
    request: { body: createWith({ title: 'x'.repeat(201) }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'input.title',
  },
  {
    label: 'an oversize backout plan',
    request: { body: createWith({ backoutPlan: 'b'.repeat(10_001) }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'input.backoutPlan',
  },
  {
    label: 'too many affected services',
    request: { body: createWith({ affectedServices: Array.from({ length: 21 }, (_, i) => `svc-${i}`) }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'input.affectedServices',
  },
  {
    label: 'an empty list of affected services',
    request: { body: createWith({ affectedServices: [] }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'input.affectedServices',
  },
  {
    label: 'a too-short title',
    request: { body: createWith({ title: 'ab' }) },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'input.title',
  },
  {
    label: 'an oversize service name to tag',
    request: {
      body: {
        query: 'mutation($n: String!) { tagService(name: $n, tags: ["pci"]) { name } }',
        variables: { n: 's'.repeat(101) },
      },
    },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'name',
  },
  {
    label: 'a freeze window that ends before it starts',
    request: { body: freeze('2031-01-02T00:00:00Z', '2031-01-01T00:00:00Z') },
    status: 400,
    code: 'SCHEDULE_INVALID_WINDOW',
  },
  // Pagination
  {
    label: 'a garbage cursor',
    request: { body: { query: LIST, variables: { after: 'garbage' } } },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'after',
  },
  {
    label: 'a well-formed cursor of the wrong shape',
    request: { body: { query: LIST, variables: { after: b64({ seq: 3 }) } } },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'after',
  },
  {
    label: 'a garbage audit cursor',
    request: { body: { query: AUDIT, variables: { after: 'garbage' } } },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'after',
  },
  {
    label: 'a change cursor given to the audit log',
    request: {
      body: { query: AUDIT, variables: { after: b64({ createdAt: '2030-01-01T00:00:00Z', id: 'x' }) } },
    },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'after',
  },
  {
    label: 'a page size of 0',
    request: { body: { query: LIST, variables: { first: 0 } } },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'first',
  },
  {
    label: 'a page size over the limit',
    request: { body: { query: AUDIT, variables: { first: 100_000 } } },
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'first',
  },
  // Method, media type, route
  {
    label: 'a mutation over GET',
    request: {
      method: 'GET',
      path: `/graphql?query=${encodeURIComponent('mutation { tagService(name: "get-svc", tags: ["pci"]) { name } }')}`,
      contentType: null,
    },
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    message: /POST/,
  },
  {
    label: 'a PUT',
    request: { method: 'PUT', body: createWith({}) },
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
  },
  {
    label: 'a text/plain body',
    request: { body: JSON.stringify(createWith({})), contentType: 'text/plain' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: /text\/plain/,
  },
  {
    label: 'an XML body',
    request: { body: '<mutation/>', contentType: 'application/xml' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    label: 'a string body without a content type (fetch sends text/plain)',
    request: { body: JSON.stringify(createWith({})), contentType: null },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
];

async function count(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE tenant_id = ?1`)
    .bind(TENANT)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe('malformed requests', () => {
  it.each(cases)('$label → $status', async ({ request, status, code, field, message }) => {
    const r = await send(request);
    expect(r.status).toBe(status);
    expect(r.headers.get('x-request-id')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(r.headers.get('content-type')).toMatch(/json/);
    const body = r.json as { errors?: Errors; data?: unknown };
    expect(body, `not JSON: ${r.text}`).toBeTypeOf('object');
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.length).toBeGreaterThan(0);
    for (const e of body.errors ?? []) expect(e.message).toMatch(/\S/);
    const first = body.errors?.[0];
    expect(first?.extensions?.code).toBe(code);
    if (message) expect(first?.message).toMatch(message);
    if (field) {
      expect(first?.message).toContain(field);
      expect(first?.extensions?.issues?.map((i) => i.field)).toContain(field);
    }
  });

  /**
   * GraphQL over HTTP: a request error (raised before execution: parse, validation, operation
   * resolution, variable coercion) is 200 to a client that accepts only application/json (the
   * legacy media type) and 4xx to one that accepts application/graphql-response+json.
   */
  const requestErrors: [string, unknown, string, number][] = [
    ['a syntax error', { query: 'mutation { createChangeRequest(' }, 'GRAPHQL_PARSE_FAILED', 400],
    ['an unknown field', { query: '{ me { id secret } }' }, 'GRAPHQL_VALIDATION_FAILED', 400],
    [
      'an operationName that is not in the document',
      { query: '{ me { id } }', operationName: 'Other' },
      'OPERATION_RESOLUTION_FAILURE',
      400,
    ],
    ['a string for an Int variable', { query: LIST, variables: { first: 'ten' } }, 'VALIDATION_FAILED', 400],
    [
      'a missing required variable',
      { query: FREEZE, variables: { name: 'x', endsAt: '2031-01-02T00:00:00Z' } },
      'VALIDATION_FAILED',
      400,
    ],
    [
      'a query over the alias limit',
      { query: `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: me { id }`).join(' ')} }` },
      'QUERY_LIMIT_EXCEEDED',
      400,
    ],
  ];

  it.each(requestErrors)(
    'answers %s with 200 and errors to a client that only accepts application/json',
    async (_l, body, code) => {
      const r = await send({ body, accept: 'application/json' });
      expect(r.status).toBe(200);
      const { errors, data } = r.json as { errors: Errors; data?: unknown };
      expect(data).toBeUndefined();
      expect(errors[0]?.extensions?.code).toBe(code);
      expect(errors[0]?.message).toMatch(/\S/);
    },
  );

  it.each(requestErrors)(
    "answers %s with the code's status to a client that accepts application/graphql-response+json",
    async (_l, body, code, status) => {
      const r = await send({ body, accept: GQL_RESPONSE });
      expect(r.status).toBe(status);
      expect((r.json as { errors: Errors }).errors[0]?.extensions?.code).toBe(code);
    },
  );

  it.each([
    ['a body that is not JSON', '{"query": '],
    ['no query', { variables: {} }],
    ['a JSON array body', [{ query: '{ me { id } }' }]],
  ])('answers a request that is not well-formed (%s) with 400 whatever the media type', async (_l, body) => {
    for (const accept of ['application/json', GQL_RESPONSE]) {
      const r = await send({ body, accept });
      expect(r.status, accept).toBe(400);
      expect((r.json as { errors: Errors }).errors[0]?.extensions?.code).toBe('BAD_REQUEST');
    }
  });

  it('answers an unknown route with 404 JSON naming the path', async () => {
    const r = await send({ method: 'GET', path: '/graphql/v2', contentType: null });
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/json/);
    expect(r.json).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for /graphql/v2' } });
  });

  it('wrote nothing for any of them: the tenant is still empty', async () => {
    for (const table of [
      'change_requests',
      'audit_events',
      'freeze_windows',
      'services',
      'users',
      'approvals',
    ]) {
      expect(await count(table), table).toBe(0);
    }
    const r = await send({
      body: { query: '{ changes { totalCount } auditLog { nodes { seq } } services { name } }' },
    });
    expect(r.json).toEqual({ data: { changes: { totalCount: 0 }, auditLog: { nodes: [] }, services: [] } });
  });

  it('still serves the same tenant afterwards (control: a valid mutation writes)', async () => {
    const r = await send({ body: { query: 'mutation { tagService(name: "control", tags: []) { name } }' } });
    expect(r.status).toBe(200);
    expect(await count('services')).toBe(1);
  });
});
