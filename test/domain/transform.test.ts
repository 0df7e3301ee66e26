import { describe, expect, it } from 'vitest';
import type { TransformScope } from '../../src/domain/transform';
import {
  evaluateTransform,
  MAX_PATH_LENGTH,
  parsePath,
  transformSpecSchema,
} from '../../src/domain/transform';

const scope: TransformScope = {
  inputs: { env: 'prod', region: null },
  steps: {
    fetch: {
      status: 200,
      body: {
        items: [
          { name: 'api', cpu: 80, tags: ['web'], owner: { team: 'core' } },
          { name: 'db', cpu: 35, tags: ['data'], owner: { team: 'data' } },
          { name: 'cache', cpu: 90, tags: ['web', 'data'] },
        ],
      },
    },
  },
};

function errorOf(spec: unknown, s: TransformScope = scope) {
  const r = evaluateTransform(spec, s);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('parsePath', () => {
  it('splits identifiers and indices', () => {
    expect(parsePath('steps.fetch.body.items[0].name')).toEqual({
      ok: true,
      segments: ['steps', 'fetch', 'body', 'items', 0, 'name'],
    });
    expect(parsePath('[1].a', { relative: true })).toEqual({ ok: true, segments: [1, 'a'] });
    expect(parsePath('headers.content-type')).toEqual({ ok: true, segments: ['headers', 'content-type'] });
  });

  it.each([
    '',
    '[0]',
    'a.',
    'a..b',
    'a[-1]',
    'a[x]',
    'a b',
    '1a',
    'a.__proto__',
    'constructor',
    'a.prototype',
  ])('rejects %j', (path) => {
    expect(parsePath(path).ok).toBe(false);
  });

  it('rejects paths that are too long or too deep', () => {
    expect(parsePath('a'.repeat(MAX_PATH_LENGTH + 1)).ok).toBe(false);
    expect(parsePath(Array.from({ length: 40 }, () => 'a').join('.')).ok).toBe(false);
  });
});

describe('evaluateTransform', () => {
  it('picks values by path', () => {
    expect(
      evaluateTransform(
        {
          pick: {
            env: 'inputs.env',
            first: 'steps.fetch.body.items[0].name',
            owner: 'steps.fetch.body.items[1].owner',
          },
        },
        scope,
      ),
    ).toEqual({ ok: true, value: { env: 'prod', first: 'api', owner: { team: 'data' } } });
  });

  it('treats JSON null as a value', () => {
    expect(evaluateTransform({ pick: { region: 'inputs.region' } }, scope)).toEqual({
      ok: true,
      value: { region: null },
    });
  });

  it('filters with each operator', () => {
    const names = (where: unknown) => {
      const r = evaluateTransform({ filter: { from: 'steps.fetch.body.items', where } }, scope);
      if (!r.ok) throw new Error(r.error.message);
      return (r.value as { name: string }[]).map((i) => i.name);
    };
    expect(names({ field: 'name', equals: 'db' })).toEqual(['db']);
    expect(names({ field: 'name', notEquals: 'db' })).toEqual(['api', 'cache']);
    expect(names({ field: 'name', in: ['api', 'cache', 'x'] })).toEqual(['api', 'cache']);
    expect(names({ field: 'cpu', gt: 50 })).toEqual(['api', 'cache']);
    expect(names({ field: 'cpu', lt: 50 })).toEqual(['db']);
    expect(names({ field: 'name', gt: 'b' })).toEqual(['db', 'cache']);
    expect(names({ field: 'owner', exists: true })).toEqual(['api', 'db']);
    expect(names({ field: 'owner', exists: false })).toEqual(['cache']);
    expect(names({ field: 'owner.team', equals: 'core' })).toEqual(['api']);
    expect(names({ field: 'tags', equals: ['web', 'data'] })).toEqual(['cache']);
    expect(names({ field: 'tags[0]', equals: 'web' })).toEqual(['api', 'cache']);
    expect(
      names([
        { field: 'cpu', gt: 50 },
        { field: 'owner', exists: true },
      ]),
    ).toEqual(['api']);
  });

  it('treats a missing field as not matching, and never compares across types', () => {
    const items = { steps: { s: { list: [{ n: 1 }, { n: '2' }, {}] } } };
    const count = (where: unknown) => {
      const r = evaluateTransform({ filter: { from: 'steps.s.list', where } }, items);
      return r.ok ? (r.value as unknown[]).length : -1;
    };
    expect(count({ field: 'n', gt: 0 })).toBe(1);
    expect(count({ field: 'n', equals: 1 })).toBe(1);
    expect(count({ field: 'n', notEquals: 1 })).toBe(2);
    expect(count({ field: 'n', in: [1, '2'] })).toBe(2);
  });

  it('filters a list of scalars by the item itself', () => {
    const s = { inputs: { ids: [3, 7, 12] } };
    expect(evaluateTransform({ filter: { from: 'inputs.ids', where: { gt: 5 } } }, s)).toEqual({
      ok: true,
      value: [7, 12],
    });
  });

  it('maps items to new objects', () => {
    expect(
      evaluateTransform(
        { map: { from: 'steps.fetch.body.items', to: { id: 'name', firstTag: 'tags[0]' } } },
        scope,
      ),
    ).toEqual({
      ok: true,
      value: [
        { id: 'api', firstTag: 'web' },
        { id: 'db', firstTag: 'data' },
        { id: 'cache', firstTag: 'web' },
      ],
    });
  });

  it('returns a literal value', () => {
    expect(evaluateTransform({ value: { ok: true, n: [1, 2] } }, scope)).toEqual({
      ok: true,
      value: { ok: true, n: [1, 2] },
    });
    expect(evaluateTransform({ value: null }, scope)).toEqual({ ok: true, value: null });
  });

  it('names an unknown path and where it stopped', () => {
    expect(errorOf({ pick: { x: 'steps.fetch.body.itemz' } })).toEqual({
      code: 'EXECUTION-004',
      path: 'steps.fetch.body.itemz',
      message: 'unknown path steps.fetch.body.itemz: no "itemz" at steps.fetch.body',
    });
    expect(errorOf({ pick: { x: 'steps.fetch.body.items[9].name' } }).message).toContain(
      'no index [9] at steps.fetch.body.items',
    );
    expect(errorOf({ pick: { x: 'steps.nope' } }).path).toBe('steps.nope');
    expect(errorOf({ pick: { x: 'inputs.env' } }, {}).message).toContain('no "inputs"');
  });

  it('does not reach built-ins through paths', () => {
    expect(errorOf({ pick: { x: 'steps.fetch.toString' } }).code).toBe('EXECUTION-004');
    expect(errorOf({ pick: { x: 'steps.fetch.body.items.length' } }).code).toBe('EXECUTION-004');
    expect(errorOf({ pick: { x: 'inputs.env.length' } }).code).toBe('EXECUTION-004');
  });

  it('names the item and subpath when map misses a field', () => {
    expect(errorOf({ map: { from: 'steps.fetch.body.items', to: { team: 'owner.team' } } })).toEqual({
      code: 'EXECUTION-004',
      path: 'steps.fetch.body.items[2].owner.team',
      message: 'unknown path steps.fetch.body.items[2].owner.team: no "owner" at steps.fetch.body.items[2]',
    });
  });

  it('requires an array for filter and map', () => {
    expect(errorOf({ filter: { from: 'inputs.env', where: { exists: true } } })).toMatchObject({
      path: 'inputs.env',
      message: 'inputs.env is not an array',
    });
    expect(errorOf({ map: { from: 'steps.fetch.body', to: { a: 'b' } } }).message).toContain(
      'is not an array',
    );
    expect(errorOf({ map: { from: 'steps.missing', to: { a: 'b' } } }).path).toBe('steps.missing');
  });

  it('rejects invalid specs, naming the field', () => {
    const cases: [unknown, string, string][] = [
      [{}, '(spec)', 'exactly one of pick, filter, map, value'],
      [{ pick: { a: 'inputs.env' }, value: 1 }, '(spec)', 'got pick, value'],
      [{ eval: 'process.exit()' }, '(spec)', 'eval'],
      ['inputs.env', '(spec)', 'object'],
      [{ pick: {} }, 'pick', 'at least one field'],
      [{ pick: { a: 'env' } }, 'pick.a', 'must start with inputs or steps'],
      [{ pick: { a: 'inputs..x' } }, 'pick.a', 'invalid path'],
      [{ pick: { a: 5 } }, 'pick.a', 'string'],
      [{ pick: { 'bad name': 'inputs.env' } }, 'pick.bad name', 'invalid field name'],
      [{ filter: { from: 'inputs.x' } }, 'filter.where', ''],
      [{ filter: { from: 'inputs.x', where: { field: 'a' } } }, 'filter.where', 'got none'],
      [{ filter: { from: 'inputs.x', where: { field: 'a', gt: 1, lt: 5 } } }, 'filter.where', 'got gt, lt'],
      [{ filter: { from: 'inputs.x', where: { field: 'a', gt: true } } }, 'filter.where', ''],
      [{ filter: { from: 'inputs.x', where: { field: 'a', exists: 'yes' } } }, 'filter.where', ''],
      [{ filter: { from: 'inputs.x', where: { field: 'a', like: '%x' } } }, 'filter.where', ''],
      [{ map: { from: 'inputs.x', to: { a: 'b' }, extra: 1 } }, 'map', 'extra'],
      [{ map: { from: 'inputs.x', to: { a: 'b[' } } }, 'map.to.a', 'invalid path'],
      [{ value: Number.NaN }, 'value', 'finite'],
    ];
    for (const [spec, path, message] of cases) {
      const error = errorOf(spec);
      expect(error.code, JSON.stringify(spec)).toBe('EXECUTION-004');
      expect(error.path, JSON.stringify(spec)).toBe(path);
      expect(error.message, JSON.stringify(spec)).toContain(message);
      expect(error.message).toContain(`invalid transform spec at ${path}`);
    }
  });

  it('rejects prototype-polluting keys anywhere in a spec', () => {
    const polluting = [
      JSON.parse('{"pick":{"__proto__":"inputs.env"}}'),
      JSON.parse('{"value":{"a":{"__proto__":{"polluted":true}}}}'),
      { map: { from: 'steps.fetch.body.items', to: { constructor: 'name' } } },
      { pick: { a: 'inputs.__proto__' } },
      { pick: { a: 'steps.fetch.constructor.prototype' } },
    ];
    for (const spec of polluting) expect(errorOf(spec).code).toBe('EXECUTION-004');
    expect(errorOf(polluting[0]).path).toBe('pick.__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects deeply nested or oversized literals', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(errorOf({ value: deep }).message).toContain('nested deeper than');
    expect(errorOf({ value: Array.from({ length: 20_000 }, () => 1) }).message).toContain('more than');
  });

  it('rejects a result over the size limits with EXECUTION-008', () => {
    const big = { inputs: { blob: 'x'.repeat(1_100_000) } };
    expect(errorOf({ pick: { b: 'inputs.blob' } }, big)).toMatchObject({
      code: 'EXECUTION-008',
      path: '(result)',
    });
    const many = { inputs: { list: Array.from({ length: 6000 }, (_, i) => ({ i })) } };
    expect(errorOf({ map: { from: 'inputs.list', to: { i: 'i' } } }, many).code).toBe('EXECUTION-008');
  });

  it('is deterministic and does not mutate the scope', () => {
    const before = JSON.stringify(scope);
    const spec = { filter: { from: 'steps.fetch.body.items', where: { field: 'cpu', gt: 50 } } };
    expect(evaluateTransform(spec, scope)).toEqual(evaluateTransform(spec, scope));
    expect(JSON.stringify(scope)).toBe(before);
  });
});

describe('transformSpecSchema', () => {
  it('accepts each operation', () => {
    for (const spec of [
      { pick: { a: 'inputs.env' } },
      { filter: { from: 'steps.a.items', where: { field: 'x', in: [1, 2] } } },
      { filter: { from: 'steps.a.items', where: [{ exists: true }, { field: 'y', lt: 'm' }] } },
      { map: { from: 'steps.a.items', to: { id: 'id' } } },
      { value: [1, 'two', { three: null }] },
    ]) {
      expect(transformSpecSchema.safeParse(spec).success, JSON.stringify(spec)).toBe(true);
    }
  });

  it('reports the path of the offending field', () => {
    const r = transformSpecSchema.safeParse({
      filter: { from: 'inputs.x', where: { field: 'a', gt: 1, lt: 2 } },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['filter', 'where']);
  });
});
