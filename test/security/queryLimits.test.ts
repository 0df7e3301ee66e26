import { buildSchema, parse, validate } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import snapshot from '../../mcp-tools.snapshot.json';
import { DEFAULT_QUERY_LIMITS, exceedsTokens, queryLimitRules } from '../../src/http/queryLimits';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import { gql } from '../helpers/graphql';

/**
 * The limits on a GraphQL document: each one just inside passes, just outside is refused with
 * QUERY_LIMIT_EXCEEDED, HTTP 400 and a message naming the limit and the value; every document the
 * MCP tools send is well inside all of them.
 */
const TENANT = 'query-limits';
let admin: string;

beforeAll(async () => {
  admin = await token({ sub: 'limits', tenant: TENANT, roles: ['admin'] });
});

type LimitError = { message: string; extensions?: { code?: string; [k: string]: unknown } };

const limitErrors = (errors: LimitError[] | undefined) =>
  (errors ?? []).filter((e) => e.extensions?.code === 'QUERY_LIMIT_EXCEEDED');

/** Refused by exactly one limit, with the code, the details and a message that names it. */
function expectRefused(
  r: { status: number; data: unknown; errors: LimitError[] | undefined },
  limit: string,
  max: number,
  found?: number,
) {
  expect(r.status).toBe(400);
  expect(r.data ?? null).toBeNull();
  const [error, ...more] = limitErrors(r.errors);
  expect(more).toEqual([]);
  expect(error?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit, max });
  expect(error?.message).toContain(
    `Query ${limit === 'aliases' ? 'alias' : limit.replace(/s$/, '')} limit exceeded`,
  );
  expect(error?.message).toContain(`maximum ${max}`);
  if (found !== undefined) {
    expect(error?.extensions?.found).toBe(found);
    expect(error?.message).toContain(String(found));
  }
}

function expectPassed(r: { status: number; errors: LimitError[] | undefined }) {
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  expect(r.status).toBe(200);
}

const repeat = (n: number, piece: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => piece(i)).join(' ');

/** `{ f { f { … } } }`: n nested selections, whatever the field (the rules do not need the schema). */
const nested = (n: number): string => (n === 0 ? '' : `{ f ${nested(n - 1)}}`);

const rulesOnly = (document: string) =>
  validate(buildSchema('type Query { f: Int }'), parse(document), queryLimitRules()).map((e) => ({
    message: e.message,
    extensions: e.extensions as LimitError['extensions'],
  }));

describe('the documented defaults', () => {
  it('are depth 10, aliases 15, directives 10, tokens 2000, cost 25000', () => {
    expect(DEFAULT_QUERY_LIMITS).toEqual({
      maxDepth: 10,
      maxAliases: 15,
      maxDirectives: 10,
      maxTokens: 2000,
      maxCost: 25_000,
    });
  });
});

describe('depth', () => {
  it('passes depth 10 and refuses depth 11 (the rule alone: no schema is 11 deep)', () => {
    expect(rulesOnly(nested(10))).toEqual([]);
    const [error, ...more] = rulesOnly(nested(11));
    expect(more).toEqual([]);
    expect(error?.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      limit: 'depth',
      max: 10,
      found: 11,
    });
    expect(error?.message).toBe(
      'Query depth limit exceeded: depth 11, maximum 10; select less deeply nested fields',
    );
  });

  it('does not count fragments as levels', () => {
    const viaFragments = `query { ...A } fragment A on Query { f { ...B } } fragment B on Query ${nested(9)}`;
    expect(rulesOnly(viaFragments)).toEqual([]);
  });

  it('serves the deepest selection the schema has (5 levels)', async () => {
    const r = await gql(
      '{ changes(first: 100) { nodes { approvals { approver { id } } requester { id } } } }',
      {},
      { token: admin },
    );
    expectPassed(r);
  });

  it('refuses a query over the limit over HTTP with 400 and the code', async () => {
    const r = await gql(`{ changes ${nested(10)} }`, {}, { token: admin });
    expectRefused(r, 'depth', 10, 11);
  });
});

describe('aliases', () => {
  const aliased = (n: number) => `{ ${repeat(n, (i) => `a${i}: me { id }`)} }`;

  it('passes 15 aliases', async () => {
    expectPassed(await gql(aliased(15), {}, { token: admin }));
  });

  it('refuses 16 aliases', async () => {
    expectRefused(await gql(aliased(16), {}, { token: admin }), 'aliases', 15, 16);
  });

  it('does not count aliases of __typename', async () => {
    expectPassed(await gql(`{ ${repeat(20, (i) => `t${i}: __typename`)} }`, {}, { token: admin }));
  });
});

describe('directives', () => {
  const directed = (n: number) => `{ me { ${repeat(n, () => 'id @include(if: true)')} } }`;

  it('passes 10 directives', async () => {
    expectPassed(await gql(directed(10), {}, { token: admin }));
  });

  it('refuses 11 directives', async () => {
    expectRefused(await gql(directed(11), {}, { token: admin }), 'directives', 10, 11);
  });
});

describe('tokens', () => {
  /**
   * Exactly n tokens: `{ t0: __typename … }` (3 tokens each; aliases of __typename are free), then
   * plain `__typename`s. (Not `{ me { id id … } }`: graphql-js gives up comparing that many
   * same-named fields, "Validation aborted", a protection of its own.)
   */
  const tokens = (n: number) => {
    const aliases = Math.floor((n - 2) / 3);
    const rest = n - 2 - 3 * aliases;
    return `{ ${repeat(aliases, (i) => `t${i}: __typename`)} ${repeat(rest, () => '__typename')} }`;
  };

  it('counts like the parser', () => {
    expect(exceedsTokens(tokens(2000), 2000)).toBe(false);
    expect(exceedsTokens(tokens(2001), 2000)).toBe(true);
    expect(exceedsTokens(`# a comment is not a token\n${tokens(2000)}`, 2000)).toBe(false);
  });

  it('passes a document of exactly 2000 tokens', async () => {
    expectPassed(await gql(tokens(2000), {}, { token: admin }));
  });

  it('refuses 2001 tokens before parsing', async () => {
    const r = await gql(tokens(2001), {}, { token: admin });
    expectRefused(r, 'tokens', 2000);
    expect(r.errors?.[0]?.message).toBe(
      'Query token limit exceeded: more than 2000 tokens, maximum 2000; send a shorter document',
    );
  });

  it('still reports a syntax error in a short document as a parse error', async () => {
    const r = await gql('{ me { id ', {}, { token: admin });
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });
});

describe('cost', () => {
  /** The change resource (changeflow://changes/{id}) reads every field of a change. */
  const CHANGE_FIELDS = snapshot.resourceTemplates
    .find((t) => t.name === 'change')
    ?.document.match(/change\(id: \$id\) \{ (.*) \} \}$/)?.[1] as string;
  /** Every change field the change resource reads, approvers and requester in full, and risk factors. */
  const FULL = CHANGE_FIELDS.replace('approvals { id', 'approvals { approver { id displayName email } id');
  const biggestList = (first: string) =>
    `changes(first: ${first}) { nodes { ${FULL} } pageInfo { hasNextPage endCursor } totalCount }`;

  it('serves the biggest legitimate list: 100 changes with approvals, approvers and requester', async () => {
    expect(FULL).toContain('requester { id displayName email }');
    expect(FULL).toContain('approver { id displayName email } id');
    expectPassed(await gql(`{ ${biggestList('100')} }`, {}, { token: admin }));
  });

  it('refuses the same list twice', async () => {
    const r = await gql(`{ a: ${biggestList('100')} b: ${biggestList('100')} }`, {}, { token: admin });
    expectRefused(r, 'cost', 25_000);
    expect(r.errors?.[0]?.extensions?.found).toBeGreaterThan(25_000);
  });

  /**
   * armor's cost: 1 per scalar, 2 per object plus 1.5 × its children, times `first`.
   * auditLog(first: 200) { nodes { id × 53 } } = (2 + 1.5 × (2 + 1.5 × 53)) × 200 = 24850;
   * me { id × 98 } = 2 + 1.5 × 98 = 149; one root __typename = 1: 25000 in all.
   */
  const costing = (typenames: number) =>
    `{ auditLog(first: 200) { nodes { ${repeat(53, () => 'id')} } } me { ${repeat(98, () => 'id')} } ${repeat(typenames, () => '__typename')} }`;

  it('passes a cost of exactly 25000', async () => {
    expectPassed(await gql(costing(1), {}, { token: admin }));
  });

  it('refuses a cost of 25001', async () => {
    expectRefused(await gql(costing(2), {}, { token: admin }), 'cost', 25_000, 25_001);
  });

  describe('with list sizes from variables', () => {
    const twice = `query Twice($n: Int) { a: ${biggestList('$n')} b: ${biggestList('$n')} }`;

    it('counts the value sent, not 1: the list twice with n = 100 is refused like the literal', async () => {
      const r = await gql(twice, { n: 100 }, { token: admin });
      expectRefused(r, 'cost', 25_000);
      expect(r.errors?.[0]?.extensions?.found).toBeGreaterThan(25_000);
    });

    it('passes the same document with a small page', async () => {
      expectPassed(await gql(twice, { n: 20 }, { token: admin }));
    });

    it('decides each request by its own sizes, whatever was decided for the same document before', async () => {
      for (const n of [100, 20, 100, 5, 100]) {
        const r = await gql(twice, { n }, { token: admin });
        if (n === 100) expectRefused(r, 'cost', 25_000);
        else expectPassed(r);
      }
    });

    it("uses the variable's default when none is sent", async () => {
      const withDefault = twice.replace('$n: Int)', '$n: Int = 100)');
      expectRefused(await gql(withDefault, {}, { token: admin }), 'cost', 25_000);
      expectPassed(await gql(withDefault.replace('= 100', '= 10'), {}, { token: admin }));
    });

    it("leaves a page size over the field's own maximum to the field's validation", async () => {
      const r = await gql(
        'query($first: Int) { auditLog(first: $first) { nodes { id } } }',
        { first: 100_000 },
        { token: admin },
      );
      expect(r.status).toBe(400);
      expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
      expect(r.errors?.[0]?.message).toContain('first');
    });
  });
});

describe('every MCP document', () => {
  const documents = [
    // A tool of several actions (transition_change) has one document per action, a line each.
    ...snapshot.tools.flatMap((t) => {
      const docs = t.document.split('\n');
      return docs.map((document, i) => ({
        name: docs.length > 1 ? `${t.name} #${i + 1}` : t.name,
        document,
      }));
    }),
    ...snapshot.resourceTemplates.map((t) => ({ name: `resource ${t.name}`, document: t.document })),
  ];

  it('has documents to check', () => {
    expect(documents.length).toBeGreaterThan(20);
  });

  it.each(documents)('$name is well inside every limit', ({ document }) => {
    expect(exceedsTokens(document, DEFAULT_QUERY_LIMITS.maxTokens / 10)).toBe(false);
    const errors = validate(schema, parse(document), queryLimitRules());
    expect(errors.map((e) => e.message)).toEqual([]);
    // With room to spare: half the depth, no aliases or directives, a tenth of the cost and tokens.
    const tight = validate(
      schema,
      parse(document),
      queryLimitRules({
        maxDepth: 5,
        maxAliases: 1,
        maxDirectives: 1,
        maxCost: DEFAULT_QUERY_LIMITS.maxCost / 10,
      }),
    );
    expect(tight.map((e) => e.message)).toEqual([]);
  });

  it.each(documents)(
    '$name passes the limits over HTTP (variables left out fail only at execution)',
    async ({ document }) => {
      const r = await gql(document, {}, { token: admin });
      for (const e of r.errors ?? []) {
        expect(['VALIDATION_FAILED', 'CHANGE_NOT_FOUND', 'FORBIDDEN'], e.message).toContain(
          e.extensions?.code,
        );
      }
    },
  );

  it.each([
    ['list_changes', { first: 100 }],
    ['get_audit_log', { first: 200 }],
  ] as const)('%s passes with its largest page size', async (name, variables) => {
    const document = snapshot.tools.find((t) => t.name === name)?.document as string;
    expectPassed(await gql(document, variables, { token: admin }));
  });
});
