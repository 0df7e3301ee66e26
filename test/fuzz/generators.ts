import {
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  typeFromAST,
} from 'graphql';
import snapshot from '../../mcp-tools.snapshot.json';
import { schema } from '../../src/schema';
import { Prng } from '../helpers/prng';

/**
 * Generators of malformed requests for the fuzz test. Every case is a pure function of the seed
 * and its index, so that one failing case can be regenerated and replayed on its own.
 */

export const FAMILIES = [
  'graphql-document',
  'variables',
  'json-body',
  'json-rpc',
  'headers-methods',
] as const;
export type Family = (typeof FAMILIES)[number];

export interface FuzzCase {
  index: number;
  family: Family;
  /** A short description of what is malformed. */
  label: string;
  method: string;
  /** Path and query string. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /**
   * Who sends it: nobody (no credentials), a viewer (who may write nothing), an admin of the
   * writer tenant (only for cases that name a mutation: a valid one may write, and it is
   * accounted for), or the case itself (it sets its own Authorization header).
   */
  auth: Auth;
  /** The tool of a single MCP tools/call, for the writer's accounting. */
  tool?: string;
}

export type Auth = 'anonymous' | 'viewer' | 'writer' | 'own';

/**
 * Placeholders replaced at send time: a change id of the sending tenant, and signed tokens that
 * need a key (prepared once, from fixed claims, by the test).
 */
export const DRAFT_ID = 'CHG-FUZZ-DRAFT';
export const PENDING_ID = 'CHG-FUZZ-PENDING';
export const SIGNED_TOKENS = [
  'expired',
  'not-yet-valid',
  'no-tenant',
  'no-sub',
  'numeric-sub',
  'empty-roles',
  'unknown-role',
  'roles-string',
  'tenant-object',
  'wrong-secret',
  'huge-claims',
  'hs512',
] as const;
export type SignedToken = (typeof SIGNED_TOKENS)[number];
export const signedPlaceholder = (name: SignedToken) => `@@SIGNED:${name}@@`;

const GQL = 'application/graphql-response+json';
const MCP_ACCEPT = 'application/json, text/event-stream';

// ---------------------------------------------------------------------------------------------
// Operations taken from the schema and from the MCP catalog snapshot

interface Operation {
  label: string;
  kind: 'query' | 'mutation';
  field: string;
  document: string;
  vars: { name: string; type: GraphQLInputType }[];
}

function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`the schema has no ${what}`);
  return value;
}
const queryType = must(schema.getQueryType(), 'Query type');
const mutationType = must(schema.getMutationType(), 'Mutation type');

export const MUTATION_FIELDS: ReadonlySet<string> = new Set(Object.keys(mutationType.getFields()));

interface ToolSnapshot {
  name: string;
  document: string;
  inputSchema: unknown;
  annotations: { readOnlyHint?: boolean };
}
const TOOLS = snapshot.tools as ToolSnapshot[];
export const MUTATION_TOOLS: ReadonlySet<string> = new Set(
  TOOLS.filter((t) => !t.annotations.readOnlyHint).map((t) => t.name),
);
const TOOL_NAMES = TOOLS.map((t) => t.name);

/** Leaves, and objects down to `depth`, of an output type. */
function selectionFor(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named)) return '{ __typename }';
  const parts: string[] = [];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    if (isLeafType(getNamedType(f.type))) parts.push(f.name);
    else if (depth > 0) parts.push(`${f.name} ${selectionFor(f.type, depth - 1)}`);
  }
  return `{ ${parts.join(' ') || '__typename'} }`;
}

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function operationFor(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): Operation {
  const defs = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const document = `${kind} Fuzz${pascal(field.name)}${defs ? `(${defs})` : ''} { ${field.name}${
    args ? `(${args})` : ''
  } ${selectionFor(field.type, 2)} }`;
  return {
    label: `${kind} ${field.name}`,
    kind,
    field: field.name,
    document,
    vars: field.args.map((a) => ({ name: a.name, type: a.type })),
  };
}

function operationFrom(label: string, document: string): Operation {
  const op = parse(document).definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (!op) throw new Error(`${label}: no operation`);
  const first = op.selectionSet.selections[0];
  return {
    label,
    kind: op.operation === 'mutation' ? 'mutation' : 'query',
    field: first?.kind === Kind.FIELD ? first.name.value : '',
    document,
    vars: (op.variableDefinitions ?? []).map((v) => ({
      name: v.variable.name.value,
      type: typeFromAST(schema, v.type) as GraphQLInputType,
    })),
  };
}

const OPERATIONS: Operation[] = [
  ...Object.values(queryType.getFields()).map((f) => operationFor('query', f)),
  ...Object.values(mutationType.getFields()).map((f) => operationFor('mutation', f)),
  ...TOOLS.map((t) => operationFrom(`tool ${t.name}`, t.document)),
  ...snapshot.resourceTemplates.map((r) => operationFrom(`resource ${r.name}`, r.document)),
];

// ---------------------------------------------------------------------------------------------
// Values

const VALID_IDS = [DRAFT_ID, DRAFT_ID, PENDING_ID, PENDING_ID, 'CHG-20260101-ABC123', 'fw_unknown'];
const VALID_DATES = [
  '2031-01-01T10:00:00Z',
  '2031-01-01T12:00:00.000Z',
  '2030-06-30T23:59:59+02:00',
  '2026-01-01T00:00:00Z',
];
const VALID_STRINGS = [
  'Rotate the TLS certificates',
  'payments-db',
  'Routine rotation of the web tier keys, tested in staging first.',
  'pci',
  'web-frontend',
];
const BAD_DATES: unknown[] = [
  'not-a-date',
  '2026-13-45T25:61:61Z',
  '2026-02-30T00:00:00Z',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00Z',
  '',
  ' ',
  12345,
  -1,
  1e20,
  '2026-01-01',
  'T',
  '9999999-01-01T00:00:00Z',
  '2026-01-01T00:00:00+99:99',
  '2026-01-01 00:00:00',
  'NaN',
  'Invalid Date',
  '2026-01-01T00:00:00.0000000000000000000001Z',
  '2026-W01-1',
  '1e10',
  '\u0000',
  {},
  [],
  true,
];
const WEIRD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u0000\u0001\u001f\u007f',
  '\ud800',
  '\udfff\ud800',
  '\u2028\u2029',
  '\ufeff',
  '\u202eRTL',
  'Ω≈ç√∫',
  '😀'.repeat(50),
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style payload, on purpose
  '${jndi:ldap://x}',
  '{{7*7}}',
  "' OR 1=1 --",
  '"; DROP TABLE change_requests; --',
  '\\',
  '"',
  '%s%s%n',
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  '../../etc/passwd',
  '%00',
  '%ZZ',
  'é'.repeat(3000),
];
const ODD_IDS = [...WEIRD_STRINGS, 'chg-20260101-abc123', 'CHG-99999999-ZZZZZZ', 'evt_1', 'x'.repeat(300)];

/** A JSON object with an own `__proto__` property (an object literal would set the prototype). */
const protoPollution = () =>
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {}}}');

function deepObject(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}
function deepArray(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function longString(rng: Prng): string {
  return rng.pick(['x', 'é', '😀', 'ab\u0000']).repeat(rng.pick([1_001, 10_001, 100_001]));
}

function garbage(rng: Prng): unknown {
  switch (rng.int(0, 27)) {
    case 0:
      return null;
    case 1:
      return true;
    case 2:
      return false;
    case 3:
      return 0;
    case 4:
      return -1;
    case 5:
      return 1.5;
    case 6:
      return 1e308;
    case 7:
      return 2 ** 53 + 1;
    case 8:
      return '';
    case 9:
      return 'NaN';
    case 10:
      return 'Infinity';
    case 11:
      return [];
    case 12:
      return [null];
    case 13:
      return {};
    case 14:
      return { '': '' };
    case 15:
      return [[[]]];
    case 16:
      return protoPollution();
    case 17:
      return deepObject(rng.pick([10, 100, 500]));
    case 18:
      return deepArray(rng.pick([10, 100, 500]));
    case 19:
      return longString(rng);
    case 20:
      return rng.pick(WEIRD_STRINGS);
    case 21:
      return -0;
    case 22:
      return Number.MIN_VALUE;
    case 23:
      return { toString: 'x', valueOf: 1 };
    case 24:
      return Array.from({ length: rng.pick([100, 1000]) }, (_, i) => i);
    case 25:
      return '[object Object]';
    case 26:
      return rng.pick(BAD_DATES);
    default:
      return { kind: 'Document', definitions: [] };
  }
}

/** A value the argument type accepts (and the domain may still refuse). */
function validValue(type: GraphQLInputType, rng: Prng, depth = 0): unknown {
  if (isNonNullType(type)) return validValue(type.ofType, rng, depth);
  if (depth > 6) return null;
  if (isListType(type)) {
    return Array.from({ length: rng.int(1, 3) }, () => validValue(type.ofType, rng, depth + 1));
  }
  if (isEnumType(type)) return rng.pick(type.getValues()).name;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) {
      const required = isNonNullType(f.type) && f.defaultValue === undefined;
      if (required || rng.chance(0.5)) out[f.name] = validValue(f.type, rng, depth + 1);
    }
    return out;
  }
  switch (type.name) {
    case 'Int':
      return rng.pick([1, 2, 5, 20, 50, 100]);
    case 'Float':
      return rng.int(0, 10_000) / 100;
    case 'Boolean':
      return rng.chance(0.5);
    case 'ID':
      return rng.pick(VALID_IDS);
    case 'DateTime':
      return rng.pick(VALID_DATES);
    case 'JSON':
      return rng.pick([{}, { a: 1 }, [1, 2], 'x', 1, null]);
    default:
      return rng.pick(VALID_STRINGS);
  }
}

/** A value of the wrong type (or shape, or size) for the argument type. */
function wrongValue(type: GraphQLInputType, rng: Prng, depth = 0): unknown {
  const nonNull = isNonNullType(type);
  const inner = nonNull ? type.ofType : type;
  const roll = rng.int(0, 9);
  if (roll === 0) return nonNull ? null : garbage(rng);
  if (roll === 1 || depth > 6) return garbage(rng);
  if (isListType(inner)) {
    const item = () => validValue(inner.ofType, rng, depth + 1);
    switch (rng.int(0, 6)) {
      case 0:
        return item();
      case 1:
        return [null, null];
      case 2:
        return [[item()]];
      case 3:
        return Array.from({ length: rng.pick([1_000, 10_000]) }, item);
      case 4:
        return [item(), wrongValue(inner.ofType, rng, depth + 1)];
      case 5:
        return deepArray(rng.pick([50, 300]), item());
      default:
        return { 0: item(), length: 1 };
    }
  }
  if (isEnumType(inner)) {
    const valid = rng.pick(inner.getValues()).name;
    return rng.pick<unknown>([
      'bogus',
      valid.toLowerCase(),
      `${valid} `,
      ` ${valid}`,
      0,
      1,
      true,
      [valid],
      {},
      '',
    ]);
  }
  if (isInputObjectType(inner)) {
    const valid = validValue(inner, rng, depth + 1) as Record<string, unknown>;
    const fields = Object.values(inner.getFields());
    switch (rng.int(0, 8)) {
      case 0: {
        const required = fields.filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
        if (required.length) delete valid[rng.pick(required).name];
        return valid;
      }
      case 1:
        return { ...valid, bogus: garbage(rng), __typename: 'ChangeRequest' };
      case 2: {
        const f = rng.pick(fields);
        return { ...valid, [f.name]: wrongValue(f.type, rng, depth + 1) };
      }
      case 3:
        return Object.fromEntries(fields.map((f) => [f.name, null]));
      case 4:
        return JSON.stringify(valid);
      case 5:
        return [valid];
      case 6:
        return Object.assign(protoPollution(), valid);
      case 7:
        return deepObject(rng.pick([50, 200]), valid);
      default: {
        const f = rng.pick(fields);
        return { ...valid, [f.name]: deepObject(200) };
      }
    }
  }
  switch (inner.name) {
    case 'Int':
      return rng.pick<unknown>([
        '1',
        '01',
        1.5,
        2 ** 31,
        -(2 ** 31) - 1,
        1e21,
        Number.MAX_SAFE_INTEGER,
        -0,
        'NaN',
        'Infinity',
        true,
        [1],
        { value: 1 },
        '',
        ' 1',
        '0x1F',
        '1e3',
        -1,
        0,
        2 ** 31 - 1,
      ]);
    case 'Float':
      return rng.pick<unknown>(['1.5', 'NaN', 'Infinity', true, [], {}, '']);
    case 'Boolean':
      return rng.pick<unknown>(['true', 1, 0, 'yes', [], {}, '']);
    case 'DateTime':
      return rng.pick(BAD_DATES);
    case 'ID':
      return rng.pick<unknown>([{}, [], true, 1.5, 1e21, -1, ...ODD_IDS, longString(rng)]);
    case 'JSON':
      return rng.pick([deepObject(300), deepArray(300), protoPollution(), longString(rng)]);
    default:
      return rng.pick<unknown>([
        123,
        1.5,
        true,
        {},
        [],
        ['a'],
        { toString: 'x' },
        longString(rng),
        ...WEIRD_STRINGS,
      ]);
  }
}

// ---------------------------------------------------------------------------------------------
// Characters and literals

const WILD_CHARS = [
  ...'{}()[]$@!:=."#\\,|&...\'`',
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\udfff',
  'é',
  'ß',
  '中',
  '😀',
  '\u202e',
  '\t',
  '\n',
  '\r',
];

function wildChar(rng: Prng): string {
  switch (rng.int(0, 2)) {
    case 0:
      return rng.pick(WILD_CHARS);
    case 1:
      return String.fromCharCode(rng.int(0, 0xffff));
    default:
      return String.fromCharCode(rng.int(0x20, 0x7e));
  }
}

/** A string only of characters a header value may hold (visible ASCII and Latin-1). */
function headerSafe(rng: Prng, length: number, latin1 = true): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    s += String.fromCharCode(latin1 && rng.chance(0.3) ? rng.int(0xa0, 0xff) : rng.int(0x21, 0x7e));
  }
  return s;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A GraphQL literal that is wrong, or at least odd, for most argument types. */
function oddLiteral(rng: Prng): string {
  return rng.pick([
    '"5"',
    '5',
    '5.5',
    '99999999999999999999',
    '-2147483649',
    '1e400',
    'true',
    'null',
    '[1, 2]',
    '[[[]]]',
    '{ a: 1 }',
    '{}',
    'BOGUS_ENUM',
    'DRAFT',
    '$undeclared',
    '"""block"""',
    '"\\u{1F600}"',
    '"\\uD800"',
    '"\\x41"',
    '"unterminated',
    `"${'x'.repeat(rng.pick([10, 10_000]))}"`,
    '""',
    '"2026-13-45T25:61:61Z"',
    '"CHG-FUZZ-DRAFT"',
  ]);
}

// ---------------------------------------------------------------------------------------------
// Family 1: GraphQL documents

function insertAt(s: string, at: number, text: string): string {
  return s.slice(0, at) + text + s.slice(at);
}

/** Random positions of `char` in `s`, or -1. */
function positionOf(s: string, char: string, rng: Prng): number {
  const at: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] === char) at.push(i);
  return at.length ? rng.pick(at) : -1;
}

type Mutator = [string, (doc: string, rng: Prng) => string];

const MUTATORS: Mutator[] = [
  ['truncated', (d, r) => d.slice(0, r.int(0, Math.max(0, d.length - 1)))],
  [
    'bytes flipped',
    (d, r) => {
      const chars = [...d];
      for (let n = r.int(1, 8); n > 0; n--) chars[r.int(0, chars.length - 1)] = wildChar(r);
      return chars.join('');
    },
  ],
  [
    'braces unbalanced',
    (d, r) => {
      let out = d;
      for (let n = r.int(1, 4); n > 0; n--) {
        const brace = r.pick([...'{}()[]']);
        if (r.chance(0.5)) out = insertAt(out, r.int(0, out.length), brace);
        else {
          const at = positionOf(out, brace, r);
          if (at >= 0) out = out.slice(0, at) + out.slice(at + 1);
        }
      }
      return out;
    },
  ],
  [
    'unknown field',
    (d, r) => {
      const at = positionOf(d, '{', r);
      return at < 0 ? `${d} { bogus }` : insertAt(d, at + 1, ` bogus${r.int(0, 999)} `);
    },
  ],
  [
    'unknown argument',
    (d, r) =>
      d.replace(
        /\{\s*(\w+)/,
        (_m, name: string) =>
          `{ ${name}(${r.pick(['nope: 1', 'first: "x"', 'id: 5', '__proto__: null', 'input: {}'])})`,
      ),
  ],
  [
    'repeated fields',
    (d, r) => {
      const at = positionOf(d, '{', r);
      const field = r.pick(['__typename ', 'id ', 'me { id } ']);
      return at < 0 ? d : insertAt(d, at + 1, ` ${field.repeat(r.pick([2, 50, 500, 2000]))}`);
    },
  ],
  [
    'unicode and control characters',
    (d, r) => {
      let out = d;
      for (let n = r.int(1, 20); n > 0; n--) out = insertAt(out, r.int(0, out.length), wildChar(r));
      return out;
    },
  ],
  [
    'directives added',
    (d, r) =>
      d.replace(
        /\{\s*(\w+)/,
        (_m, name: string) =>
          `{ ${name} ${r
            .pick(['@include(if: true) ', '@skip(if: false) ', '@bogus ', '@deprecated ', '@include '])
            .repeat(r.pick([1, 3, 100, 1000]))}`,
      ),
  ],
  [
    'variable replaced by a literal',
    (d, r) => {
      const body = d.indexOf('{');
      if (body < 0) return d;
      return d.slice(0, body) + d.slice(body).replace(/\$\w+/, () => oddLiteral(r));
    },
  ],
  ['duplicated', (d) => `${d} ${d}`],
  ['comment injected', (d, r) => insertAt(d, r.int(0, d.length), '#')],
  ['quote injected', (d, r) => insertAt(d, r.int(0, d.length), r.pick(['"', '"""', '\\']))],
  [
    'operation keyword swapped',
    (d, r) => d.replace(/^(query|mutation)/, r.pick(['subscription', 'mutation', 'query', 'fragment', ''])),
  ],
];

/** `{ a: x }` with the argument literals chosen oddly. */
function inlineLiterals(rng: Prng): [string, string] {
  const root = rng.chance(0.5) ? queryType : mutationType;
  const fields = Object.values(root.getFields()).filter((f) => f.args.length > 0);
  const field = rng.pick(fields);
  const args = field.args
    .filter(() => rng.chance(0.8))
    .map((a) => `${a.name}: ${oddLiteral(rng)}`)
    .join(', ');
  const kind = root === mutationType ? 'mutation' : 'query';
  return [
    `odd literals for ${field.name}`,
    `${kind} { ${field.name}${args ? `(${args})` : ''} ${selectionFor(field.type, 1)} }`,
  ];
}

function deepNesting(rng: Prng): [string, string] {
  const n = rng.pick([50, 200, 200, 1_000, 5_000]);
  switch (rng.int(0, 5)) {
    case 0:
      return [
        `${n} nested ofType selections`,
        `{ __type(name: "ChangeRequest") { ${'ofType { '.repeat(n)}name${' }'.repeat(n)} } }`,
      ];
    case 1:
      return [`${n} nested unknown selections`, `{ ${'a { '.repeat(n)}b${' }'.repeat(n)} }`];
    case 2:
      return [
        `${n} nested input objects`,
        `{ changes(filter: ${'{ status: '.repeat(n)}DRAFT${' }'.repeat(n)}) { nodes { id } } }`,
      ];
    case 3:
      return [`${n} nested list literals`, `{ change(id: ${'['.repeat(n)}"x"${']'.repeat(n)}) { id } }`];
    case 4:
      return [
        `${n} nested inline fragments`,
        `{ me { ${'... on Principal { '.repeat(n)}id${' }'.repeat(n)} } }`,
      ];
    default:
      return [`${n} unclosed braces`, `{ me ${'{ '.repeat(n)}`];
  }
}

function hugeAliases(rng: Prng): [string, string] {
  const n = rng.pick([100, 1_000, 5_000]);
  const field = n > 1_000 ? '__typename' : rng.pick(['__typename', 'me { id }', 'me { id roles }']);
  const parts = Array.from({ length: n }, (_, i) => `a${i}: ${field}`);
  return [`${n} aliases of ${field}`, `{ ${parts.join(' ')} }`];
}

function repeatedFields(rng: Prng): [string, string] {
  const n = rng.pick([100, 1_000, 3_000]);
  switch (rng.int(0, 2)) {
    case 0:
      return [`${n} repeated leaf fields`, `{ me { ${'id '.repeat(n)}} }`];
    case 1:
      return [`${n} repeated object fields`, `{ ${'me { id } '.repeat(Math.min(n, 1_000))}}`];
    default:
      return [
        `${n} conflicting repeated fields`,
        `{ ${'x: me { id } x: __typename '.repeat(Math.min(n, 200))}}`,
      ];
  }
}

function fragmentCycle(rng: Prng): [string, string] {
  switch (rng.int(0, 6)) {
    case 0:
      return ['self-referencing fragment', 'fragment A on Query { ...A } { ...A }'];
    case 1:
      return [
        'two-fragment cycle',
        'fragment A on Query { ...B me { id } } fragment B on Query { ...A } query { ...A }',
      ];
    case 2: {
      const n = rng.pick([3, 50, 300]);
      const frags = Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ...F${(i + 1) % n} }`);
      return [`${n}-fragment cycle`, `${frags.join(' ')} { ...F0 }`];
    }
    case 3:
      return ['cycle through inline fragments', 'fragment A on Query { ... on Query { ...A } } { ...A }'];
    case 4: {
      const n = rng.pick([10, 200]);
      const frags = Array.from({ length: n }, (_, i) =>
        i === n - 1 ? `fragment F${i} on Query { me { id } }` : `fragment F${i} on Query { ...F${i + 1} }`,
      );
      return [`${n}-fragment chain`, `${frags.join(' ')} { ...F0 }`];
    }
    case 5: {
      const n = rng.pick([10, 20, 30]);
      const frags = Array.from({ length: n }, (_, i) =>
        i === n - 1
          ? `fragment L${i} on Query { me { id } }`
          : `fragment L${i} on Query { ...L${i + 1} ...L${i + 1} a${i}: __typename }`,
      );
      return [`fragment fan-out of depth ${n}`, `${frags.join(' ')} { ...L0 }`];
    }
    default:
      return [
        'fragments on odd types',
        rng.pick([
          '{ ...F }',
          'fragment F on Unknown { id } { ...F }',
          'fragment F on String { id } { ...F }',
          'fragment F on Query { me { id } }',
          'fragment F on Query { me { id } } fragment F on Query { __typename } { ...F }',
          '{ ... on Mutation { __typename } }',
        ]),
      ];
  }
}

function directivesGalore(rng: Prng): [string, string] {
  const n = rng.pick([2, 100, 1_000]);
  return rng.pick<[string, string]>([
    [`${n} @include on a field`, `{ me ${'@include(if: true) '.repeat(n)}{ id } }`],
    [
      `${n} unknown directives`,
      `{ me ${Array.from({ length: n }, (_, i) => `@bogus${i}`).join(' ')} { id } }`,
    ],
    ['directive on the operation', 'query @include(if: true) { me { id } }'],
    ['directive with an undeclared variable', '{ me @skip(if: $undefined) { id } }'],
    ['@deprecated on a field', '{ me @deprecated(reason: "x") { id } }'],
    ['@specifiedBy on a field', '{ me @specifiedBy(url: "x") { id } }'],
    ['duplicate directive argument', '{ me @include(if: true, if: false) { id } }'],
    ['@include without its argument', '{ me @include { id } }'],
    ['@include with a string', '{ me @include(if: "yes") { id } }'],
    ['@defer and @stream', '{ me @defer { id } changes @stream(initialCount: -1) { nodes { id } } }'],
    ['directive on a variable', 'query ($v: Boolean = true @deprecated) { me @include(if: $v) { id } }'],
    [
      'directive on a fragment',
      'fragment F on Query @skip(if: true) { me { id } } { ...F @include(if: false) }',
    ],
  ]);
}

const EMPTY_DOCUMENTS = [
  '',
  ' ',
  '\n\t\r',
  '# only a comment',
  '{}',
  '{ }',
  'query',
  'query {}',
  'query Q',
  ';',
  '\ufeff',
  ',,,',
  '\u0000',
  '{ me { } }',
  'mutation',
];

function multipleOperations(rng: Prng): [string, string] {
  const n = rng.int(2, 10);
  const ops = Array.from({ length: n }, (_, i) =>
    rng.pick([`query Q${i} { me { id } }`, `query Q${i} { __typename }`, `mutation M${i} { __typename }`]),
  );
  return rng.pick<[string, string]>([
    [`${n} named operations`, ops.join(' ')],
    ['anonymous and named operations', `{ me { id } } ${ops[0]}`],
    ['two anonymous operations', '{ me { id } } { __typename }'],
    ['two operations with the same name', 'query Q { me { id } } query Q { __typename }'],
    ['query and mutation', 'query { me { id } } mutation { __typename }'],
  ]);
}

function longStrings(rng: Prng): [string, string] {
  const n = rng.pick([10_000, 100_000, 500_000]);
  return rng.pick<[string, string]>([
    [`${n}-character string argument`, `{ change(id: "${'x'.repeat(n)}") { id } }`],
    [`${n}-character block string`, `{ change(id: """${'y\n'.repeat(n / 2)}""") { id } }`],
    [`${Math.min(n, 50_000)}-character field name`, `{ ${'f'.repeat(Math.min(n, 50_000))} }`],
    [`${Math.min(n, 50_000)}-character alias`, `{ ${'a'.repeat(Math.min(n, 50_000))}: __typename }`],
    [`${n}-character comment`, `# ${'c'.repeat(n)}\n{ __typename }`],
    [`${n} commas`, `{ me { id ${','.repeat(n)} } }`],
    [
      `${Math.min(n, 100_000)}-character escaped unicode string`,
      `{ change(id: "${'\\u00e9'.repeat(Math.min(n, 100_000) / 6)}") { id } }`,
    ],
  ]);
}

const ODD_DOCUMENTS = [
  'subscription { me { id } }',
  'subscription S { changes { nodes { id } } }',
  '{ __schema { types { name fields { name args { name type { name } } } } } }',
  '{ __type(name: "ChangeRequest") { name fields { name } } }',
  '{ __type(name: 5) { name } }',
  '{ __typename }',
  '{ me { id } } garbage',
  '{ me { ... on ChangeRequest { id } } }',
  '{ me { id(arg: 1) } }',
  '{ me }',
  '{ me { id { x } } }',
  '{ change(id: "\\uD800") { id } }',
  '{ change(id: "\\u{1F600}") { id } }',
  '{ change(id: "\\u{110000}") { id } }',
  '{ change(id: """block \\""" string""") { id } }',
  '{ change(id: """unterminated) { id } }',
  '{ change(id: "unterminated) { id } }',
  '{ changes(first: 99999999999999999999) { nodes { id } } }',
  '{ changes(first: -1) { nodes { id } } }',
  '{ changes(first: 0) { nodes { id } } }',
  '{ changes(first: 1e400) { nodes { id } } }',
  '{ changes(first: 00) { nodes { id } } }',
  '{ changes(first: 1.) { nodes { id } } }',
  '{ changes(first: 2147483647) { nodes { id } } }',
  '{ changes(after: "not-a-cursor") { nodes { id } } }',
  '{ changes(after: "eyJ4IjoxfQ") { nodes { id } } }',
  '{ changes(after: "////") { nodes { id } } }',
  '{ changes(after: "") { nodes { id } } }',
  '{ changes(after: "%ZZ") { nodes { id } } }',
  '{ auditLog(after: "////", first: 100000) { nodes { seq } } }',
  '{ auditLog(after: "eyJzZXEiOiJ4In0") { nodes { seq } } }',
  '{ auditLog(targetId: "", first: -5) { nodes { seq } } }',
  '{ changes(filter: { status: [BOGUS] }) { nodes { id } } }',
  '{ changes(filter: { status: "DRAFT" }) { nodes { id } } }',
  '{ changes(filter: { search: "%" }) { nodes { id } } }',
  '{ changes(filter: { search: "_" }) { nodes { id } } }',
  '{ changes(filter: { search: "\' OR 1=1 --" }) { nodes { id } } }',
  '{ changes(filter: { service: "\\u0000" }) { nodes { id } } }',
  '{ complianceReport(from: "2020-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z") { score } }',
  '{ complianceReport(from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { score } }',
  '{ complianceReport(from: "+275760-09-13T00:00:00Z", to: "-271821-04-20T00:00:00Z") { score } }',
  '{ freezeWindows(from: "x", to: 5) { id } }',
  '{ freezeWindows(from: "2026-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z") { id } }',
  'query ($a: Int = "x") { changes(first: $a) { nodes { id } } }',
  'query ($a: Unknown) { me { id } }',
  'query ($a: Int!, $a: Int) { me { id } }',
  'query ($a: Int) { me { id } }',
  'query { changes(first: $undeclared) { nodes { id } } }',
  'query ($a: [[[Int]]]) { changes(first: $a) { nodes { id } } }',
  'query ($a: ChangeRequest) { me { id } }',
  '{ a: me { id } a: change(id: "x") { id } }',
  '{ me { id } me { roles } }',
  '{ me\u0007 { id } }',
  '{ "me" { id } }',
  '{ ...on Query { me { id } } }',
  'mutation { __typename }',
  'mutation { me { id } }',
  'mutation { createChangeRequest(input: {}) { id } }',
  'mutation { createChangeRequest { id } }',
  'mutation { deleteFreezeWindow(id: null) { id } }',
  'mutation { revokeApiKey(id: "") { id } }',
  '{ verifyAuditChain { valid checked brokenAtSeq reason } }',
  '{ metrics { __typename } }',
  '{ apiKeys { id } }',
  'extend type Query { x: Int }',
  'type Query { x: Int }',
  'schema { query: Query }',
  'directive @x on FIELD',
  'scalar X',
  '{ me { id } } fragment Unused on Query { __typename }',
  '{ __schema { queryType { fields(includeDeprecated: "yes") { name } } } }',
];

function documentCase(rng: Prng): {
  label: string;
  query: string;
  variables?: unknown;
  operationName?: unknown;
} {
  const roll = rng.int(0, 99);
  if (roll < 40) {
    const op = rng.pick(OPERATIONS);
    let doc = op.document;
    const names: string[] = [];
    for (let n = rng.int(1, 3); n > 0; n--) {
      const [name, mutate] = rng.pick(MUTATORS);
      doc = mutate(doc, rng);
      names.push(name);
    }
    const variables = rng.chance(0.6)
      ? Object.fromEntries(op.vars.map((v) => [v.name, validValue(v.type, rng)]))
      : undefined;
    return { label: `${op.label}: ${names.join(', ')}`, query: doc, variables };
  }
  let made: [string, string];
  if (roll < 50) made = inlineLiterals(rng);
  else if (roll < 56) made = deepNesting(rng);
  else if (roll < 61) made = hugeAliases(rng);
  else if (roll < 65) made = repeatedFields(rng);
  else if (roll < 70) made = fragmentCycle(rng);
  else if (roll < 76) made = directivesGalore(rng);
  else if (roll < 80) {
    const doc = rng.pick(EMPTY_DOCUMENTS);
    made = [`empty document ${JSON.stringify(doc)}`, doc];
  } else if (roll < 86) {
    const [label, doc] = multipleOperations(rng);
    const operationName = rng.pick<unknown>([undefined, undefined, 'Nope', '', null, 5, 'F', 'Q0']);
    return { label: `${label}, operationName ${JSON.stringify(operationName)}`, query: doc, operationName };
  } else if (roll < 90) made = longStrings(rng);
  else {
    const doc = rng.pick(ODD_DOCUMENTS);
    made = [`odd document ${doc.slice(0, 60)}`, doc];
  }
  return { label: made[0], query: made[1] };
}

// ---------------------------------------------------------------------------------------------
// Family 2: variables

const RAW = '"__RAW_NUMBER__"';

function variablesCase(rng: Prng): { label: string; body: string } {
  const op = rng.pick(OPERATIONS);
  const vars: Record<string, unknown> = {};
  const notes: string[] = [];
  for (const v of op.vars) {
    const mode = rng.float();
    if (mode < 0.4) vars[v.name] = validValue(v.type, rng);
    else if (mode < 0.9) {
      const value = wrongValue(v.type, rng);
      vars[v.name] = value;
      notes.push(`$${v.name}=${summarize(value)}`);
    } else notes.push(`$${v.name} omitted`);
  }
  if (rng.chance(0.15)) {
    for (let n = rng.int(1, 5); n > 0; n--) vars[`extra${rng.int(0, 99)}`] = garbage(rng);
    notes.push('extra variables');
  }
  let rawNumber: string | null = null;
  if (op.vars.length && rng.chance(0.1)) {
    const v = rng.pick(op.vars);
    rawNumber = rng.pick([
      '1e400',
      '-0',
      '123456789012345678901234567890',
      '-1e-400',
      '0.1e1',
      '1E2',
      'NaN',
      'Infinity',
      '01',
    ]);
    vars[v.name] = '__RAW_NUMBER__';
    notes.push(`$${v.name}=${rawNumber} (raw JSON)`);
  }
  let variables: unknown = vars;
  if (rng.chance(0.08)) {
    variables = rng.pick<unknown>(['input', [vars], 42, true, JSON.stringify(vars), [], '']);
    notes.push(`variables=${summarize(variables)}`);
  }
  const body: Record<string, unknown> = { query: op.document, variables };
  if (rng.chance(0.15)) {
    body.operationName = rng.pick<unknown>(['Nope', '', null, 5, {}, op.document.split(/[ ({]/)[1]]);
    notes.push(`operationName=${summarize(body.operationName)}`);
  }
  let text = JSON.stringify(body);
  if (rawNumber !== null) text = text.replace(RAW, rawNumber);
  return { label: `${op.label}: ${notes.join(', ') || 'all valid'}`, body: text };
}

/** A few characters that say what a generated value is. */
export function summarize(value: unknown): string {
  if (typeof value === 'string') return value.length > 24 ? `string(${value.length})` : JSON.stringify(value);
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value && typeof value === 'object') return `{${Object.keys(value).slice(0, 3).join(',')}}`;
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Family 3: JSON bodies

const enc = new TextEncoder();

function concatBytes(...parts: (Uint8Array<ArrayBuffer> | string)[]): Uint8Array<ArrayBuffer> {
  const arrays = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

const BAD_UTF8 = [
  [0xc3, 0x28],
  [0xff],
  [0xfe, 0xff],
  [0xed, 0xa0, 0x80],
  [0xc0, 0xaf],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0x80, 0x80, 0x80],
  [0xf0, 0x9f, 0x98],
];

function jsonBodyCase(rng: Prng): {
  label: string;
  path: string;
  body: string | Uint8Array<ArrayBuffer>;
  contentType: string;
} {
  const mcp = rng.chance(0.3);
  const path = mcp ? '/mcp' : '/graphql';
  const valid = mcp
    ? { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }
    : {
        query: 'query ($first: Int) { me { id } changes(first: $first) { nodes { id } } }',
        variables: { first: 5 },
      };
  const validText = JSON.stringify(valid);
  const contentType = rng.chance(0.85)
    ? 'application/json'
    : rng.pick([
        'application/json; charset=utf-8',
        'application/json;charset=UTF-16',
        'application/graphql-response+json',
        'application/json ; charset="utf-8"',
        'application/json; charset=iso-8859-1',
      ]);
  const done = (label: string, body: string | Uint8Array<ArrayBuffer>) => ({
    label,
    path,
    body,
    contentType,
  });
  switch (rng.int(0, 14)) {
    case 0: {
      const text = rng.pick([
        'query { me { id } }',
        "{query: '{ me { id } }'}",
        "{'query': '{ me { id } }'}",
        'undefined',
        'NaN',
        `${validText.slice(0, -1)},}`,
        `// comment\n${validText}`,
        `${validText} ${validText}`,
        `${validText}garbage`,
        '{"query": "{ me { id } }" "variables": {}}',
        '{"query": "\\x41"}',
        '{"query": "\\u12"}',
        '{"query": "tab\there"}',
        'jsonrpc=2.0&method=ping',
        '<?xml version="1.0"?><query/>',
        Array.from({ length: rng.int(1, 200) }, () => wildChar(rng)).join(''),
      ]);
      return done(`not JSON: ${JSON.stringify(text.slice(0, 40))}`, text);
    }
    case 1: {
      const at = rng.int(0, validText.length - 1);
      return done(`JSON truncated at ${at}`, validText.slice(0, at));
    }
    case 2: {
      const text = rng.pick([
        'null',
        'true',
        '0',
        '-1e999',
        '"string"',
        `"${validText.replace(/"/g, '\\"')}"`,
        '[]',
        '[1,2]',
        `[${validText}]`,
        `[${validText},${validText}]`,
        '[null]',
        '{}',
        '[[]]',
        '[{}]',
      ]);
      return done(`top-level ${text.slice(0, 30)}`, text);
    }
    case 3: {
      const value = rng.pick<unknown>([
        42,
        { kind: 'Document', definitions: [] },
        ['{ me { id } }'],
        null,
        true,
        '',
        {},
      ]);
      const body = mcp ? { ...valid, method: value } : { ...valid, query: value };
      return done(`${mcp ? 'method' : 'query'} is ${summarize(value)}`, JSON.stringify(body));
    }
    case 4: {
      const key = rng.pick(mcp ? ['params', 'id', 'jsonrpc'] : ['variables', 'extensions', 'operationName']);
      const value = rng.pick<unknown>(['x', [], [1], 5, true, { a: 1 }, null, deepObject(100)]);
      return done(`${key} is ${summarize(value)}`, JSON.stringify({ ...valid, [key]: value }));
    }
    case 5: {
      const text = mcp
        ? rng.pick([
            '{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/list"}',
            '{"jsonrpc":"2.0","jsonrpc":"1.0","id":1,"method":"ping"}',
            '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}',
            '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","name":"nope"}}',
          ])
        : rng.pick([
            '{"query":"{ me { id } }","query":"{ __typename }"}',
            '{"query":1,"query":"{ me { id } }"}',
            '{"query":"{ me { id } }","query":1}',
            '{"query":"query($f: Int) { changes(first: $f) { nodes { id } } }","variables":{"f":1,"f":"x"}}',
            '{"query":"{ me { id } }","variables":{},"variables":"x"}',
          ]);
      return done('duplicate keys', text);
    }
    case 6: {
      const size = rng.chance(0.2) ? rng.pick([500_000, 1_000_000]) : rng.pick([10_000, 100_000]);
      const pad = 'p'.repeat(size);
      const text = rng.pick([
        JSON.stringify({ ...valid, padding: pad }),
        JSON.stringify(
          mcp
            ? { ...valid, params: { name: 'whoami', arguments: { pad } } }
            : { ...valid, variables: { first: 5, pad } },
        ),
        mcp ? JSON.stringify({ ...valid, id: pad }) : JSON.stringify({ query: `# ${pad}\n{ me { id } }` }),
        JSON.stringify(Array.from({ length: size / 10 }, () => 1)),
      ]);
      return done(`huge body (${text.length} bytes)`, text);
    }
    case 7: {
      const bad = Uint8Array.from(rng.pick(BAD_UTF8));
      const at = rng.int(0, validText.length);
      const inString = validText.indexOf('me') + 1;
      return rng.chance(0.5)
        ? done(
            `invalid UTF-8 ${[...bad].map((b) => b.toString(16)).join(' ')} at ${at}`,
            concatBytes(validText.slice(0, at), bad, validText.slice(at)),
          )
        : done(
            `invalid UTF-8 ${[...bad].map((b) => b.toString(16)).join(' ')} inside a string`,
            concatBytes(validText.slice(0, inString), bad, validText.slice(inString)),
          );
    }
    case 8: {
      switch (rng.int(0, 3)) {
        case 0:
          return done('UTF-8 BOM', concatBytes(Uint8Array.from([0xef, 0xbb, 0xbf]), validText));
        case 1: {
          const utf16 = new Uint8Array(validText.length * 2 + 2);
          utf16.set([0xff, 0xfe]);
          for (let i = 0; i < validText.length; i++) utf16[2 + i * 2] = validText.charCodeAt(i);
          return done('UTF-16LE with BOM', utf16);
        }
        case 2:
          return done('BOM inside the body', `{"query"\ufeff: "{ me { id } }"}`);
        default:
          return done('two BOMs', `\ufeff\ufeff${validText}`);
      }
    }
    case 9: {
      const n = rng.pick([100, 1_000, 10_000, 100_000]);
      return rng.pick([
        done(`top-level array nested ${n} deep`, `${'['.repeat(n)}${']'.repeat(n)}`),
        done(`object nested ${n} deep`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
        done(
          `${mcp ? 'params' : 'variables'} nested ${n} deep`,
          mcp
            ? `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{"x":${'['.repeat(n)}${']'.repeat(n)}}}}`
            : `{"query":"{ me { id } }","variables":{"x":${'['.repeat(n)}${']'.repeat(n)}}}`,
        ),
        done(`unclosed nesting ${n} deep`, '['.repeat(n)),
      ]);
    }
    case 10: {
      const n = rng.pick([
        '1e400',
        '-0',
        '123456789012345678901234567890',
        '1E-400',
        '-',
        '0x10',
        '.5',
        '+1',
      ]);
      const text = mcp
        ? `{"jsonrpc":"2.0","id":${n},"method":"ping"}`
        : `{"query":"query($f: Int) { changes(first: $f) { nodes { id } } }","variables":{"f":${n}}}`;
      return done(`raw number ${n}`, text);
    }
    case 11:
      return done('empty or whitespace body', rng.pick(['', ' ', '\n', '\t\r\n ', '\u0000']));
    case 12: {
      const s = rng.pick(['\\ud800', '\\udfff', '\\u0000', '\\ud83d\\ude00', '\\uDBFF\\uDFFF', '\\u0085']);
      const text = mcp
        ? `{"jsonrpc":"2.0","id":"${s}","method":"tools/call","params":{"name":"get_change_status","arguments":{"id":"${s}"}}}`
        : `{"query":"{ change(id: \\"${s}\\") { id } }"}`;
      return done(`escaped ${s} in a string`, text);
    }
    case 13: {
      const extra = rng.pick<unknown>([
        protoPollution(),
        { constructor: { prototype: { x: 1 } } },
        { toString: 1 },
      ]);
      return done('prototype keys', JSON.stringify({ ...valid, ...(extra as object) }));
    }
    default: {
      const text = JSON.stringify(valid);
      const chars = [...text];
      for (let n = rng.int(1, 5); n > 0; n--) chars[rng.int(0, chars.length - 1)] = wildChar(rng);
      return done('JSON with flipped characters', chars.join(''));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Family 4: JSON-RPC to /mcp

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

function fromSchema(s: JsonSchema, rng: Prng, wrongRate: number, depth = 0): unknown {
  if (rng.chance(wrongRate) || depth > 6) return wrongForSchema(s, rng);
  if (s.enum) return rng.pick(s.enum);
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, sub] of Object.entries(s.properties ?? {})) {
        if (s.required?.includes(k) || rng.chance(0.5)) out[k] = fromSchema(sub, rng, wrongRate, depth + 1);
      }
      return out;
    }
    case 'array': {
      const n = rng.int(s.minItems ?? 0, Math.min(s.maxItems ?? 3, 3));
      return Array.from({ length: n }, () => fromSchema(s.items ?? {}, rng, wrongRate, depth + 1));
    }
    case 'string':
      if (s.format === 'date-time') return rng.pick(VALID_DATES);
      if (s.pattern) return `fuzz-key-${rng.int(0, 20)}`;
      return rng
        .pick(VALID_STRINGS.filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? 1e9)))
        .padEnd(s.minLength ?? 0, '.');
    case 'integer':
      return rng.int(s.minimum ?? 1, Math.min(s.maximum ?? 100, 100));
    case 'number':
      return rng.float();
    case 'boolean':
      return rng.chance(0.5);
    default:
      return garbage(rng);
  }
}

function wrongForSchema(s: JsonSchema, rng: Prng): unknown {
  if (rng.chance(0.2)) return garbage(rng);
  if (s.enum)
    return rng.pick<unknown>(['bogus', String(rng.pick(s.enum)).toLowerCase(), 0, null, [s.enum[0]]]);
  switch (s.type) {
    case 'string':
      return rng.pick<unknown>([
        5,
        true,
        null,
        {},
        [],
        '',
        'x'.repeat((s.maxLength ?? 1000) + 1),
        ...(s.format === 'date-time' ? BAD_DATES : WEIRD_STRINGS),
        ...(s.pattern ? ['has space', 'é', '\u0000'] : []),
      ]);
    case 'integer':
    case 'number':
      return rng.pick<unknown>([
        '1',
        1.5,
        0,
        -1,
        1e21,
        2 ** 31,
        2 ** 53 + 2,
        null,
        [],
        {},
        (s.maximum ?? 100) + 1,
      ]);
    case 'array':
      return rng.pick<unknown>([
        'x',
        {},
        [null],
        Array.from({ length: (s.maxItems ?? 20) + 1 }, () => 'svc'),
        [[['nested']]],
        Array.from({ length: 1000 }, (_, i) => `svc-${i}`),
      ]);
    case 'object': {
      const valid = fromSchema(s, rng, 0) as Record<string, unknown>;
      return rng.pick<unknown>([
        null,
        'x',
        [],
        [valid],
        { ...valid, bogus: 1 },
        Object.assign(protoPollution(), valid),
        {},
        deepObject(200),
      ]);
    }
    default:
      return garbage(rng);
  }
}

const ODD_JSONRPC: unknown[] = [undefined, '1.0', '2', 2, 2.0, '2.0 ', null, true, '', {}, ['2.0']];
const ODD_RPC_IDS: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  2 ** 53 + 1,
  1e308,
  '',
  'x',
  'x'.repeat(5000),
  true,
  {},
  [],
  [1],
  { a: 1 },
];
const ODD_METHODS = [
  '',
  ' ',
  'tools/cal',
  'TOOLS/LIST',
  'tools/list/',
  '/tools/list',
  'rpc.discover',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'tools/call\u0000',
  'x'.repeat(10_000),
  'notifications/',
  'notifications/unknown',
  '💥',
  'sampling/createMessage',
  'roots/list',
  'elicitation/create',
  'resources/subscribe',
  'resources/unsubscribe',
  'logging/setLevel',
  'completion/complete',
  'tasks/get',
];
const ODD_URIS: unknown[] = [
  `changeflow://changes/${DRAFT_ID}`,
  `changeflow://changes/${PENDING_ID}/audit`,
  'changeflow://changes/',
  'changeflow://changes//audit',
  'changeflow://changes/%ZZ',
  'changeflow://changes/%E0%A4%A',
  'changeflow://changes/%00',
  'changeflow://changes/a%',
  'changeflow://changes/%uD800',
  'changeflow://changes/%ED%A0%80',
  'changeflow://changes/%F0%9F%92%A5',
  'changeflow://changes/💥',
  `changeflow://changes/${'x'.repeat(10_000)}`,
  'changeflow://changes/x/audit',
  'changeflow://changes/%2F..%2F/audit',
  'changeflow://changes/%ZZ/audit',
  'changeflow://CHANGES/x',
  'changeflow://changes/x?y=1#z',
  'file:///etc/passwd',
  'http://169.254.169.254/latest/meta-data/',
  'javascript:alert(1)',
  '',
  '\u0000',
  5,
  null,
  {},
  [],
];
const PROTOCOL_VERSIONS: unknown[] = [
  '2025-03-26',
  '2025-06-18',
  '2025-11-25',
  '2024-11-05',
  '2099-01-01',
  '',
  'latest',
  '2025-06-18\u0000',
  'x'.repeat(1000),
  20250618,
  null,
  [],
  {},
  '1.0',
  '2025-13-45',
];

function toolName(rng: Prng): unknown {
  const real = rng.pick(TOOL_NAMES);
  switch (rng.int(0, 9)) {
    case 0:
      return real.toUpperCase();
    case 1:
      return `${real} `;
    case 2:
      return rng.pick<unknown>([
        '',
        'x'.repeat(1000),
        '__proto__',
        'constructor',
        'toString',
        5,
        null,
        {},
        [],
        'create_workflow',
        'execute_workflow',
      ]);
    case 3:
      return real.replace(/_/g, '-');
    default:
      return real;
  }
}

function rpcMessage(rng: Prng): { label: string; message: Record<string, unknown>; tool?: string } {
  const base: Record<string, unknown> = { jsonrpc: '2.0', id: rng.int(1, 10_000) };
  const roll = rng.int(0, 99);
  let label: string;
  let tool: string | undefined;
  if (roll < 12) {
    const params: Record<string, unknown> = {
      protocolVersion: rng.pick(PROTOCOL_VERSIONS),
      capabilities: rng.pick<unknown>([{}, null, 'x', [], { roots: 5 }, { sampling: null }]),
      clientInfo: rng.pick<unknown>([{ name: 'fuzz', version: '1' }, {}, { name: 5 }, 'x', undefined, null]),
    };
    Object.assign(base, {
      method: 'initialize',
      params: rng.chance(0.9) ? params : rng.pick<unknown>([null, 'x', [], 5]),
    });
    label = `initialize protocolVersion=${summarize(params.protocolVersion)}`;
  } else if (roll < 50) {
    const name = toolName(rng);
    const snapshotTool = TOOLS.find((t) => t.name === name);
    const wrongRate = rng.pick([0, 0.1, 0.3, 1]);
    let args: unknown;
    if (snapshotTool && rng.chance(0.85)) {
      args = fromSchema(snapshotTool.inputSchema as JsonSchema, rng, wrongRate);
      if (rng.chance(0.15) && typeof args === 'object' && args !== null && !Array.isArray(args)) {
        (args as Record<string, unknown>)[rng.pick(['bogus', 'id', 'input', '__typename'])] = garbage(rng);
      }
    } else
      args = rng.pick<unknown>([undefined, null, 'x', 5, [], [{}], {}, deepObject(200), protoPollution()]);
    const params: Record<string, unknown> = { name, arguments: args };
    if (rng.chance(0.1))
      params._meta = rng.pick<unknown>(['x', { progressToken: {} }, null, { progressToken: 1 }]);
    Object.assign(base, {
      method: 'tools/call',
      params: rng.chance(0.95) ? params : rng.pick<unknown>([null, 'x', []]),
    });
    label = `tools/call ${summarize(name)} args=${summarize(args)}`;
    if (typeof name === 'string') tool = name;
  } else if (roll < 62) {
    const uri = rng.pick(ODD_URIS);
    Object.assign(base, { method: 'resources/read', params: { uri } });
    label = `resources/read ${summarize(uri)}`;
  } else if (roll < 70) {
    const name = rng.pick<unknown>([
      'draft_change_request',
      'prepare_cab_review',
      'prepare_cab_review',
      'nope',
      5,
      null,
      '',
    ]);
    const args = rng.pick<unknown>([
      { description: rng.pick<unknown>(['Upgrade the DB', 5, '', ' ', null, 'x'.repeat(100_000)]) },
      { changeId: rng.pick<unknown>([DRAFT_ID, '%ZZ', '\ud800', ' ', '', 5, '../x', 'a/b', '%']) },
      'x',
      [],
      null,
      undefined,
      { changeId: DRAFT_ID, extra: {} },
    ]);
    Object.assign(base, { method: 'prompts/get', params: { name, arguments: args } });
    label = `prompts/get ${summarize(name)} args=${summarize(args)}`;
  } else if (roll < 85) {
    const method = rng.pick([
      'ping',
      'tools/list',
      'resources/list',
      'resources/templates/list',
      'prompts/list',
      'logging/setLevel',
      'completion/complete',
      ...ODD_METHODS,
    ]);
    const params = rng.pick<unknown>([
      undefined,
      null,
      'x',
      5,
      [],
      {},
      { cursor: 5 },
      { cursor: 'x'.repeat(1000) },
      { _meta: 'x' },
      { level: 'bogus' },
      { ref: {}, argument: 5 },
    ]);
    Object.assign(base, { method, ...(params === undefined ? {} : { params }) });
    label = `${summarize(method)} params=${summarize(params)}`;
  } else if (roll < 92) {
    delete base.id;
    const method = rng.pick([
      'notifications/initialized',
      'notifications/cancelled',
      'notifications/progress',
      'notifications/roots/list_changed',
      'notifications/bogus',
      'tools/call',
      'ping',
    ]);
    Object.assign(base, {
      method,
      params: rng.pick<unknown>([
        undefined,
        {},
        { requestId: {} },
        { progressToken: null, progress: 'x' },
        'x',
      ]),
    });
    label = `notification ${method}`;
  } else {
    Object.assign(
      base,
      rng.pick<Record<string, unknown>>([
        { result: {} },
        { error: { code: -32600, message: 'client error' } },
        { error: { code: 'x', message: 5 } },
        { result: null },
        { result: {}, error: {} },
        { method: 'ping', result: {} },
      ]),
    );
    label = 'a response sent to the server';
  }
  if (rng.chance(0.2)) {
    const jsonrpc = rng.pick(ODD_JSONRPC);
    if (jsonrpc === undefined) delete base.jsonrpc;
    else base.jsonrpc = jsonrpc;
    label += `, jsonrpc=${summarize(jsonrpc)}`;
  }
  if (rng.chance(0.2) && 'id' in base) {
    const id = rng.pick(ODD_RPC_IDS);
    if (id === undefined) delete base.id;
    else base.id = id;
    label += `, id=${summarize(id)}`;
  }
  return { label, message: base, ...(tool ? { tool } : {}) };
}

function jsonRpcCase(rng: Prng): {
  label: string;
  body: string;
  headers: Record<string, string>;
  tool?: string;
} {
  const headers: Record<string, string> = {};
  const accept = rng.chance(0.7)
    ? MCP_ACCEPT
    : rng.pick([
        null,
        'application/json',
        'text/event-stream',
        '*/*',
        'text/html',
        'application/xml',
        ',',
        'application/json;q=0, text/event-stream;q=0',
      ]);
  if (accept !== null) headers.accept = accept;
  const contentType = rng.chance(0.9)
    ? 'application/json'
    : rng.pick([
        null,
        'application/json; charset=utf-8',
        'text/plain',
        'application/json-rpc',
        'application/x-www-form-urlencoded',
      ]);
  if (contentType !== null) headers['content-type'] = contentType;
  if (rng.chance(0.35)) {
    headers['mcp-protocol-version'] = rng.pick([
      '2025-03-26',
      '2025-06-18',
      '2025-11-25',
      '2024-11-05',
      '',
      'x',
      '9999-99-99',
      '2025-06-18, 2025-03-26',
      'x'.repeat(1000),
      'é',
    ]);
  }
  if (rng.chance(0.1))
    headers['mcp-session-id'] = rng.pick(['', 'x', headerSafe(rng, 100), 'x'.repeat(5000)]);
  if (rng.chance(0.05)) headers.origin = rng.pick(['null', 'http://evil.example', 'http://cf.test']);
  const notes = Object.entries(headers)
    .filter(
      ([k, v]) =>
        !(k === 'accept' && v === MCP_ACCEPT) && !(k === 'content-type' && v === 'application/json'),
    )
    .map(([k, v]) => `${k}=${summarize(v)}`);
  const suffix = notes.length ? ` [${notes.join(', ')}]` : '';
  if (rng.chance(0.15)) {
    // Batches (2025-03-26 only), of every size and content.
    const kind = rng.int(0, 5);
    let batch: unknown;
    let label: string;
    if (kind === 0) [batch, label] = [[], 'empty batch'];
    else if (kind === 1) {
      const n = rng.pick([100, 500]);
      batch = Array.from({ length: n }, (_, i) => ({
        jsonrpc: '2.0',
        id: i,
        method: rng.pick(['ping', 'tools/list', 'prompts/list']),
      }));
      label = `batch of ${n}`;
    } else if (kind === 2) {
      batch = [1, 'x', null, [], {}];
      label = 'batch of non-messages';
    } else if (kind === 3) {
      batch = [[{ jsonrpc: '2.0', id: 1, method: 'ping' }]];
      label = 'nested batch';
    } else {
      const n = rng.int(1, 10);
      batch = Array.from({ length: n }, () => rpcMessage(rng).message);
      label = `mixed batch of ${n}`;
    }
    return { label: `${label}${suffix}`, body: JSON.stringify(batch), headers };
  }
  const { label, message, tool } = rpcMessage(rng);
  let body = JSON.stringify(message);
  let extra = '';
  if (rng.chance(0.05)) {
    body = body.slice(0, rng.int(0, body.length - 1));
    extra = ', truncated';
  }
  return { label: `${label}${extra}${suffix}`, body, headers, ...(tool && !extra ? { tool } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Family 5: headers and methods

const b64url = (s: string) => btoa(s).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const fakeJwt = (header: unknown, payload: unknown, signature = 'c2lnbmF0dXJl') =>
  `${b64url(typeof header === 'string' ? header : JSON.stringify(header))}.${b64url(
    typeof payload === 'string' ? payload : JSON.stringify(payload),
  )}.${signature}`;

function absurdAuthorization(rng: Prng): [string, string] {
  const claims = { sub: 'mallory', tenant: 'fuzz', roles: ['admin'], exp: 4_102_444_800 };
  return rng.pick<[string, string]>([
    ['empty Authorization', ''],
    ['"Bearer" alone', 'Bearer'],
    ['"Bearer " and spaces', 'Bearer    '],
    ['lower-case bearer with garbage', `bearer ${headerSafe(rng, 40, false)}`],
    ['Bearer and 10 KB', `Bearer ${'A'.repeat(10_240)}`],
    ['Bearer and 100 KB', `Bearer ${'A'.repeat(102_400)}`],
    ['non-ASCII bearer', `Bearer ${headerSafe(rng, 60)}`],
    ['non-ASCII scheme', `Bëarer ${headerSafe(rng, 20, false)}`],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['Basic alone', 'Basic'],
    ['Digest credentials', 'Digest username="x", realm="y"'],
    ['two bearer tokens', 'Bearer a.b.c Bearer d.e.f'],
    ['Bearer with a tab', 'Bearer\ta.b.c'],
    ['JWT of three dots', 'Bearer ...'],
    ['JWT with two parts', 'Bearer a.b'],
    ['JWT with empty parts', 'Bearer a..c'],
    [
      'JWT of garbage parts',
      `Bearer ${headerSafe(rng, 10, false)}.${headerSafe(rng, 10, false)}.${headerSafe(rng, 10, false)}`,
    ],
    ['JWT whose header is not JSON', `Bearer ${fakeJwt('not json', claims)}`],
    ['JWT whose header is an array', `Bearer ${fakeJwt([1, 2], claims)}`],
    ['alg none JWT', `Bearer ${fakeJwt({ alg: 'none', typ: 'JWT' }, claims, '')}`],
    ['alg NONE JWT', `Bearer ${fakeJwt({ alg: 'NONE' }, claims, '')}`],
    ['alg none JWT with a signature', `Bearer ${fakeJwt({ alg: 'none' }, claims)}`],
    ['alg HS256 JWT with a garbage signature', `Bearer ${fakeJwt({ alg: 'HS256' }, claims)}`],
    ['alg RS256 JWT (no JWKS configured)', `Bearer ${fakeJwt({ alg: 'RS256', kid: 'x' }, claims)}`],
    ['alg ES256 JWT with an embedded jwk', `Bearer ${fakeJwt({ alg: 'ES256', jwk: { kty: 'EC' } }, claims)}`],
    [
      'JWT with jku and x5u',
      `Bearer ${fakeJwt({ alg: 'HS256', jku: 'http://evil.example/jwks', x5u: 'http://evil.example/x' }, claims)}`,
    ],
    ['JWT with crit', `Bearer ${fakeJwt({ alg: 'HS256', crit: ['b64'], b64: false }, claims)}`],
    ['JWT with an alg object', `Bearer ${fakeJwt({ alg: { x: 1 } }, claims)}`],
    ['JWT whose payload is not JSON', `Bearer ${fakeJwt({ alg: 'HS256' }, 'not json')}`],
    ['JWT whose payload is null', `Bearer ${fakeJwt({ alg: 'HS256' }, 'null')}`],
    ['JWT whose payload is an array', `Bearer ${fakeJwt({ alg: 'HS256' }, [claims])}`],
    ['JWE-shaped token', 'Bearer a.b.c.d.e'],
    ['API key prefix alone', 'Bearer cf_'],
    ['well-formed unknown API key', `Bearer cf_${rng.string(40, ALNUM)}`],
    ['malformed API key', `Bearer cf_${rng.string(39, ALNUM)}-`],
    ['API key of 10 KB', `Bearer cf_${'A'.repeat(10_000)}`],
    ['API key with SQL', "Bearer cf_'OR'1'='1"],
    ...SIGNED_TOKENS.map((name): [string, string] => [
      `signed token: ${name}`,
      `Bearer ${signedPlaceholder(name)}`,
    ]),
  ]);
}

const ODD_CONTENT_TYPES: (string | null)[] = [
  null,
  'text/plain',
  'text/plain;charset=UTF-8',
  'multipart/form-data',
  'multipart/form-data; boundary=xyz',
  'multipart/mixed',
  'application/x-www-form-urlencoded',
  'application/graphql',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/json, text/plain',
  'application/jsonx',
  'json',
  '',
  '*/*',
  'application/*',
  'application/xml',
  'image/png',
  'application/json; boundary=--x',
  'x'.repeat(1000),
  'application/jsón',
];

const ODD_ACCEPTS = [
  '',
  'text/html',
  'application/xml',
  'text/event-stream',
  'multipart/mixed',
  'multipart/mixed; deferSpec=20220824',
  '*/*;q=0',
  'application/graphql-response+json;q=0',
  'application/json;q=abc',
  'x'.repeat(2000),
  ',,,',
  'text/*',
  'application/graphql-response+json; charset=utf-16',
  'application/json, text/event-stream',
  'image/*',
];

// (workerd's fetch refuses methods it does not know, such as FOO, before the worker sees them.)
const METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'PROPFIND', 'get', 'patch'];
const PATHS = [
  '/graphql',
  '/mcp',
  '/health',
  '/schema.graphql',
  '/metrics',
  '/dashboard',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-protected-resource/mcp',
  '/',
  '/graphql/',
  '/GRAPHQL',
  '/mcp/',
  '//graphql',
  '/graphql%00',
  '/%2e%2e/graphql',
  '/graphql;x',
  `/${'a'.repeat(5000)}`,
  '/__proto__',
  '/constructor',
  '/%C3%A9',
  '/%ZZ',
  '/graphql/../mcp',
  '/favicon.ico',
  '/graphiql',
  '/health/',
  '/health?verbose=%ZZ',
  '/mcp?x=1',
];

const ME = JSON.stringify({ query: '{ me { id } }' });
const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
const CREATE_MUTATION = JSON.stringify({
  query: 'mutation ($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id status } }',
  variables: {
    input: {
      title: 'Fuzzed idempotent change',
      description: 'Created by the fuzz test with an Idempotency-Key.',
      impact: 'LOW',
      urgency: 'LOW',
      affectedServices: ['fuzz-svc'],
    },
  },
});

function multipartBody(rng: Prng): string {
  const b = 'xyz';
  return rng.pick([
    `--${b}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${ME}\r\n--${b}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--${b}--\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{not json\r\n--${b}--\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${ME}\r\n--${b}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n--${b}--\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n--${b}\r\nContent-Disposition: form-data; name="0"; filename="a.txt"\r\n\r\nhello\r\n--${b}--\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ me { id } }","variables":{"f":null}}\r\n--${b}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.f.__proto__.polluted"]}\r\n--${b}\r\nContent-Disposition: form-data; name="0"; filename="a"\r\n\r\nx\r\n--${b}--\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${ME}`,
    `--other\r\n\r\n--other--`,
    ME,
    'garbage',
  ]);
}

type HeadersCase = Omit<FuzzCase, 'index' | 'family' | 'auth'> & {
  /** Sets its own Authorization header. */
  ownAuth?: boolean;
  /** Names a mutation: may also be sent by the writer. */
  writer?: boolean;
  /** Mostly interesting without a bearer token (X-API-Key is only read without one). */
  anonymous?: boolean;
};

function headersCase(rng: Prng): HeadersCase {
  const roll = rng.int(0, 99);
  if (roll < 14) {
    // Content types
    const mcp = rng.chance(0.35);
    const ct = rng.pick(ODD_CONTENT_TYPES);
    const headers: Record<string, string> = { accept: mcp ? MCP_ACCEPT : GQL };
    if (ct !== null) headers['content-type'] = ct;
    let body = mcp ? TOOLS_LIST : ME;
    if (ct?.startsWith('multipart/form-data')) body = multipartBody(rng);
    if (ct === 'application/x-www-form-urlencoded') {
      body = rng.pick([
        'query=%7B%20me%20%7B%20id%20%7D%20%7D',
        'query=%ZZ',
        'variables=%7B&query=x',
        'a=b&&&=',
        ME,
      ]);
    }
    if (ct === 'application/graphql') body = rng.pick(['{ me { id } }', '{ me { ', '']);
    return {
      label: `content-type ${summarize(ct)}`,
      method: 'POST',
      path: mcp ? '/mcp' : '/graphql',
      headers,
      body,
    };
  }
  if (roll < 24) {
    // Accept
    const target = rng.pick(['/graphql', '/graphql', '/mcp', 'GET /graphql']);
    const accept = rng.pick(ODD_ACCEPTS);
    const headers: Record<string, string> = { accept, 'content-type': 'application/json' };
    if (target === 'GET /graphql') {
      return {
        label: `accept ${summarize(accept)} on GET`,
        method: 'GET',
        path: `/graphql?query=${encodeURIComponent('{ me { id } }')}`,
        headers: { accept },
      };
    }
    return {
      label: `accept ${summarize(accept)}`,
      method: 'POST',
      path: target,
      headers,
      body: target === '/mcp' ? TOOLS_LIST : ME,
    };
  }
  if (roll < 36) {
    // Absurd Authorization: sent once, as is.
    const mcp = rng.chance(0.35);
    const [label, authorization] = absurdAuthorization(rng);
    return {
      label,
      method: 'POST',
      path: mcp ? '/mcp' : '/graphql',
      headers: { authorization, 'content-type': 'application/json', accept: mcp ? MCP_ACCEPT : GQL },
      body: mcp ? TOOLS_LIST : ME,
      ownAuth: true,
    };
  }
  if (roll < 43) {
    // X-API-Key garbage (a bearer token, when sent, takes precedence)
    const mcp = rng.chance(0.35);
    const key = rng.pick([
      '',
      'cf_',
      `cf_${rng.string(40, ALNUM)}`,
      `cf_${'A'.repeat(10_000)}`,
      'not-a-key',
      headerSafe(rng, 50),
      'Bearer x',
      "cf_' OR 1=1 --",
      `${rng.string(40, ALNUM)}`,
    ]);
    return {
      label: `x-api-key ${summarize(key)}`,
      method: 'POST',
      path: mcp ? '/mcp' : '/graphql',
      headers: { 'x-api-key': key, 'content-type': 'application/json', accept: mcp ? MCP_ACCEPT : GQL },
      body: mcp ? TOOLS_LIST : ME,
      anonymous: true,
    };
  }
  if (roll < 51) {
    // Idempotency-Key garbage on mutations
    const key = rng.pick([
      '',
      'a b',
      'é',
      headerSafe(rng, 30),
      'x'.repeat(256),
      'x'.repeat(10_000),
      `fuzz-idem-${rng.int(0, 5)}`,
      '"quoted"',
      ',',
      'key1, key2',
      '\u00ff',
    ]);
    const body = rng.pick([
      CREATE_MUTATION,
      CREATE_MUTATION,
      'not json',
      '',
      ME,
      JSON.stringify({ query: 'mutation { createChangeRequest(input: {}) { id } }' }),
    ]);
    const viaGet = rng.chance(0.1);
    return {
      label: `idempotency-key ${summarize(key)} on ${viaGet ? 'GET' : summarize(body)}`,
      method: viaGet ? 'GET' : 'POST',
      path: viaGet ? `/graphql?query=${encodeURIComponent('{ me { id } }')}` : '/graphql',
      headers: { 'idempotency-key': key, 'content-type': 'application/json', accept: GQL },
      ...(viaGet ? {} : { body }),
      writer: true,
    };
  }
  if (roll < 71) {
    // Methods and paths
    const method = rng.pick(METHODS);
    let path = rng.pick(PATHS);
    if (rng.chance(0.15))
      path = `/${Array.from({ length: rng.int(1, 4) }, () => encodeURIComponent(headerSafe(rng, rng.int(1, 12)))).join('/')}`;
    const canHaveBody = !['GET', 'HEAD', 'get'].includes(method);
    const headers: Record<string, string> = { accept: rng.pick([GQL, MCP_ACCEPT, '*/*', 'text/html']) };
    let body: string | undefined;
    if (canHaveBody && rng.chance(0.6)) {
      headers['content-type'] = 'application/json';
      body = rng.pick([ME, TOOLS_LIST, 'garbage', '']);
    }
    if (method === 'OPTIONS' && rng.chance(0.6)) {
      headers.origin = rng.pick(['http://cf.test', 'null', 'http://evil.example']);
      headers['access-control-request-method'] = rng.pick(['POST', 'DELETE', 'FOO', '', 'x'.repeat(500)]);
      headers['access-control-request-headers'] = rng.pick([
        'authorization, content-type',
        'x'.repeat(1000),
        ',,,',
        'é',
      ]);
    }
    return {
      label: `${method} ${path.slice(0, 60)}${body !== undefined ? ` with ${summarize(body)}` : ''}`,
      method,
      path,
      headers,
      ...(body !== undefined ? { body } : {}),
    };
  }
  if (roll < 88) {
    // GET /graphql with malformed query strings
    const params: string[] = [];
    const query = rng.pick<string | null>([
      '{ me { id } }',
      '{ me { ',
      'mutation { createChangeRequest(input: {}) { id } }',
      'mutation { __typename }',
      '',
      null,
      'query ($f: Int) { changes(first: $f) { nodes { id } } }',
      `{ change(id: "${'x'.repeat(30_000)}") { id } }`,
      'subscription { me { id } }',
      '{ __schema { types { name } } }',
    ]);
    if (query !== null) params.push(`query=${encodeURIComponent(query)}`);
    if (rng.chance(0.2)) params.push(`query=${encodeURIComponent('{ __typename }')}`);
    if (rng.chance(0.6)) {
      params.push(
        `variables=${rng.pick(['%7B', '%5B%5D', '%22x%22', '5', 'null', encodeURIComponent('{"f":"x"}'), encodeURIComponent('{"f":1e400}'), '%ZZ', encodeURIComponent(`{"f":${'['.repeat(1000)}${']'.repeat(1000)}}`), '', encodeURIComponent('{"f":5}')])}`,
      );
    }
    if (rng.chance(0.3))
      params.push(`operationName=${rng.pick(['', 'Nope', '%00', '5', encodeURIComponent('{}')])}`);
    if (rng.chance(0.3)) {
      params.push(
        `extensions=${rng.pick(['%7B', '%5B%5D', '5', encodeURIComponent('{"persistedQuery":{"version":1,"sha256Hash":"abc"}}'), encodeURIComponent('{"persistedQuery":null}')])}`,
      );
    }
    if (rng.chance(0.1)) params.push(rng.pick(['&&&', '=', 'query', '%', `x=${'y'.repeat(20_000)}`]));
    const accept = rng.pick([
      GQL,
      'application/json',
      'text/html',
      'text/event-stream',
      '*/*',
      'multipart/mixed',
    ]);
    const qs = rng.shuffle(params).join('&');
    return {
      label: `GET /graphql?${qs.slice(0, 80)}`,
      method: 'GET',
      path: `/graphql?${qs}`,
      headers: { accept },
    };
  }
  // Other odd headers
  const mcp = rng.chance(0.4);
  const [name, value] = rng.pick<[string, string]>([
    ['x-request-id', 'x'.repeat(10_000)],
    ['x-request-id', headerSafe(rng, 40)],
    ['x-request-id', 'valid-looking-request-id-123'],
    ['cf-connecting-ip', 'x'.repeat(10_000)],
    ['cf-connecting-ip', headerSafe(rng, 20)],
    ['x-real-ip', '::ffff:999.999.999.999'],
    ['origin', 'null'],
    ['origin', 'http://evil.example'],
    ['origin', headerSafe(rng, 30)],
    ['content-encoding', 'gzip'],
    ['content-encoding', 'br, deflate, x'],
    ['upgrade', 'websocket'],
    ['sec-websocket-protocol', 'graphql-transport-ws'],
    ['expect', '100-continue'],
    ['cookie', headerSafe(rng, 200)],
    ['x-forwarded-for', 'x'.repeat(5000)],
    ['graphql-client-name', headerSafe(rng, 50)],
    ['apollo-require-preflight', 'true'],
    ['x-apollo-operation-name', headerSafe(rng, 50)],
    ['if-none-match', '*'],
    ['range', 'bytes=0-1'],
  ]);
  const headers: Record<string, string> = {
    [name]: value,
    'content-type': 'application/json',
    accept: mcp ? MCP_ACCEPT : GQL,
  };
  if (name === 'upgrade') headers.connection = 'upgrade';
  return {
    label: `${name}: ${summarize(value)}`,
    method: 'POST',
    path: mcp ? '/mcp' : '/graphql',
    headers,
    body: mcp ? TOOLS_LIST : ME,
  };
}

// ---------------------------------------------------------------------------------------------
// Cases

/**
 * Who sends a case: mostly a token holder (a request with a principal goes furthest), a quarter
 * of the time nobody; a case that names a mutation goes to the writer tenant's admin half of the
 * time it has a token.
 */
function pickAuth(rng: Prng, hints: { ownAuth?: boolean; writer?: boolean; anonymous?: boolean }): Auth {
  if (hints.ownAuth) return 'own';
  if (rng.chance(hints.anonymous ? 0.75 : 0.25)) return 'anonymous';
  return hints.writer && rng.chance(0.5) ? 'writer' : 'viewer';
}

/** The generator of one case: a function of the seed and the index only. */
export function generateCase(seed: number, index: number, family: Family): FuzzCase {
  const rng = new Prng((seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0);
  switch (family) {
    case 'graphql-document': {
      const { label, query, variables, operationName } = documentCase(rng);
      const body: Record<string, unknown> = { query };
      if (variables !== undefined) body.variables = variables;
      if (operationName !== undefined) body.operationName = operationName;
      return {
        index,
        family,
        label,
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', accept: rng.pick([GQL, 'application/json', '*/*']) },
        body: JSON.stringify(body),
        auth: pickAuth(rng, {}),
      };
    }
    case 'variables': {
      const { label, body } = variablesCase(rng);
      return {
        index,
        family,
        label,
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', accept: rng.pick([GQL, 'application/json']) },
        body,
        auth: pickAuth(rng, { writer: true }),
      };
    }
    case 'json-body': {
      const { label, path, body, contentType } = jsonBodyCase(rng);
      return {
        index,
        family,
        label,
        method: 'POST',
        path,
        headers: { 'content-type': contentType, accept: path === '/mcp' ? MCP_ACCEPT : GQL },
        body,
        auth: pickAuth(rng, {}),
      };
    }
    case 'json-rpc': {
      const { label, body, headers, tool } = jsonRpcCase(rng);
      return {
        index,
        family,
        label,
        method: 'POST',
        path: '/mcp',
        headers,
        body,
        auth: pickAuth(rng, { writer: tool !== undefined }),
        ...(tool ? { tool } : {}),
      };
    }
    default: {
      const { ownAuth, writer, anonymous, ...rest } = headersCase(rng);
      return { index, family, ...rest, auth: pickAuth(rng, { ownAuth, writer, anonymous }) };
    }
  }
}

/** The cases of one family, `perFamily` of them; family f has the indexes [f·perFamily, (f+1)·perFamily). */
export function familyCases(seed: number, family: Family, perFamily: number): FuzzCase[] {
  const f = FAMILIES.indexOf(family);
  return Array.from({ length: perFamily }, (_, i) => generateCase(seed, f * perFamily + i, family));
}
