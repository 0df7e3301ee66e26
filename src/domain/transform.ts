import * as z from 'zod';

/**
 * `transform` steps: a small declarative form over earlier outputs, evaluated without `eval`
 * or `Function`, so a workflow definition can never run code in the Worker.
 *
 * Paths: `inputs.env`, `steps.fetch.body.items[0].name`. A segment is an identifier
 * (letters, digits, `_`, `$`, `-`; not starting with a digit) or a non-negative `[index]`.
 * `__proto__`, `constructor` and `prototype` are rejected anywhere (in paths, field names and
 * literals), and lookups only follow own properties of plain objects and indices of arrays, so
 * `steps.a.toString` or `items.length` are unknown paths, not leaks of built-ins.
 *
 * One operation per spec (chain steps to combine them):
 * - `{ pick: { field: path, ... } }` - an object of values; every path must exist.
 * - `{ filter: { from: path, where: cond | cond[] } }` - the items of an array for which every
 *   condition holds. cond = `{ field?: subpath, <op>: operand }` with exactly one op of
 *   equals | notEquals | in | gt | lt | exists. Without `field` the item itself is tested. A
 *   missing field never throws: equals/in/gt/lt are false, notEquals is true, exists says so
 *   (null counts as present). gt/lt compare numbers with numbers and strings with strings only.
 *   equals/in compare JSON values structurally.
 * - `{ map: { from: path, to: { field: subpath, ... } } }` - one object per item; a subpath
 *   missing on an item is an error naming e.g. `steps.a.items[2].name` (filter with `exists`
 *   first when items are ragged).
 * - `{ value: literal }` - a JSON literal.
 *
 * Results share structure with the scope: treat both as immutable.
 */

export const MAX_PATH_LENGTH = 256;
export const MAX_PATH_SEGMENTS = 32;
/** Limits on a result (and on literals in a spec): nodes, nesting depth, approximate JSON chars. */
export const MAX_RESULT_NODES = 10_000;
export const MAX_RESULT_DEPTH = 64;
export const MAX_RESULT_CHARS = 1_000_000;
const MAX_FIELDS = 100;
const MAX_CONDITIONS = 20;
const MAX_IN_VALUES = 100;
const MAX_LITERAL_DEPTH = 32;

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*/;
const INDEX = /^\[(\d{1,9})\]/;
const ROOTS = ['inputs', 'steps'] as const;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type PathSegment = string | number;

export type Condition = { field?: string } & (
  | { equals: Json }
  | { notEquals: Json }
  | { in: Json[] }
  | { gt: number | string }
  | { lt: number | string }
  | { exists: boolean }
);

export type TransformSpec =
  | { pick: Record<string, string> }
  | { filter: { from: string; where: Condition | Condition[] } }
  | { map: { from: string; to: Record<string, string> } }
  | { value: Json };

export interface TransformScope {
  inputs?: unknown;
  steps?: Readonly<Record<string, unknown>>;
}

export interface TransformError {
  /** EXECUTION-004 for a bad spec or path; EXECUTION-008 when the result is over the size limits. */
  code: 'EXECUTION-004' | 'EXECUTION-008';
  /** The data path that failed, or for an invalid spec the spec field (e.g. `filter.where.gt`). */
  path: string;
  message: string;
}

export type TransformResult = { ok: true; value: unknown } | { ok: false; error: TransformError };

// ---------------------------------------------------------------------------------------------
// Paths (also used by template.ts)

export type ParsedPath = { ok: true; segments: PathSegment[] } | { ok: false; message: string };

/**
 * Parse a path. `relative` paths (filter/map subpaths) are resolved against an item and may
 * start with an index; absolute ones start with an identifier (the root).
 */
export function parsePath(path: string, opts: { relative?: boolean } = {}): ParsedPath {
  const bad = (why: string): ParsedPath => ({ ok: false, message: `invalid path "${path}": ${why}` });
  if (path.length === 0) return bad('empty');
  if (path.length > MAX_PATH_LENGTH) return bad(`longer than ${MAX_PATH_LENGTH} characters`);
  const segments: PathSegment[] = [];
  let rest = path;
  while (rest.length > 0) {
    const first = segments.length === 0;
    const index = INDEX.exec(rest);
    if (index && (!first || opts.relative)) {
      segments.push(Number(index[1]));
      rest = rest.slice(index[0].length);
    } else {
      if (!first) {
        if (!rest.startsWith('.')) return bad(`unexpected "${rest[0]}"`);
        rest = rest.slice(1);
      }
      const ident = IDENT.exec(rest);
      if (!ident) return bad(rest.length ? `unexpected "${rest[0]}"` : 'ends with "."');
      if (FORBIDDEN.has(ident[0])) return bad(`segment "${ident[0]}" is not allowed`);
      segments.push(ident[0]);
      rest = rest.slice(ident[0].length);
    }
    if (segments.length > MAX_PATH_SEGMENTS) return bad(`more than ${MAX_PATH_SEGMENTS} segments`);
  }
  return { ok: true, segments };
}

export function formatPath(segments: readonly PathSegment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Follow `segments` from `root`: own properties of plain objects, in-range indices of arrays.
 * On a miss, `depth` is how many segments resolved before it (so the caller can name both).
 */
export function resolvePath(
  root: unknown,
  segments: readonly PathSegment[],
): { found: true; value: unknown } | { found: false; depth: number } {
  let cur: unknown = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (Array.isArray(cur) && typeof seg === 'number' && seg < cur.length) cur = cur[seg];
    else if (isPlainObject(cur) && Object.hasOwn(cur, String(seg)) && !FORBIDDEN.has(String(seg))) {
      cur = cur[String(seg)];
    } else return { found: false, depth: i };
    if (cur === undefined) return { found: false, depth: i };
  }
  return { found: true, value: cur };
}

/** "no "items" at steps.fetch.body" style message for a miss. */
export function describeMiss(
  prefix: readonly PathSegment[],
  segments: readonly PathSegment[],
  depth: number,
) {
  const at = formatPath([...prefix, ...segments.slice(0, depth)]);
  const seg = segments[depth];
  const what = typeof seg === 'number' ? `index [${seg}]` : `"${seg}"`;
  return at ? `no ${what} at ${at}` : `no ${what}`;
}

// ---------------------------------------------------------------------------------------------
// Size accounting

/**
 * Walk a value iteratively (no recursion, so depth abuse cannot blow the stack) and report the
 * first limit it crosses, or null. Also rejects non-JSON values when `jsonOnly`.
 */
function checkSize(
  value: unknown,
  limits: { nodes: number; depth: number; chars: number },
  jsonOnly = false,
): string | null {
  const stack: [unknown, number][] = [[value, 1]];
  let nodes = 0;
  let chars = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > limits.nodes) return `more than ${limits.nodes} values`;
    if (depth > limits.depth) return `nested deeper than ${limits.depth} levels`;
    if (typeof v === 'string') chars += v.length + 2;
    else if (typeof v === 'number') {
      if (jsonOnly && !Number.isFinite(v)) return 'numbers must be finite';
      chars += String(v).length;
    } else if (v === null || typeof v === 'boolean') chars += 5;
    else if (Array.isArray(v)) {
      chars += 2;
      for (const item of v) stack.push([item, depth + 1]);
    } else if (isPlainObject(v)) {
      chars += 2;
      for (const key of Object.keys(v)) {
        if (jsonOnly && FORBIDDEN.has(key)) return `key "${key}" is not allowed`;
        chars += key.length + 4;
        stack.push([v[key], depth + 1]);
      }
    } else if (jsonOnly) return `not a JSON value (${typeof v})`;
    if (chars > limits.chars) return `larger than about ${limits.chars} characters of JSON`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Schema

const pathString = (relative: boolean) =>
  z.string().superRefine((s, ctx) => {
    const parsed = parsePath(s, { relative });
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    else if (!relative && !(ROOTS as readonly PathSegment[]).includes(parsed.segments[0]!)) {
      ctx.addIssue({ code: 'custom', message: `path "${s}" must start with ${ROOTS.join(' or ')}` });
    }
  });

const jsonLiteral = z.unknown().superRefine((v, ctx) => {
  const limits = { nodes: MAX_RESULT_NODES, depth: MAX_LITERAL_DEPTH, chars: MAX_RESULT_CHARS };
  const problem = v === undefined ? 'a JSON value is required' : checkSize(v, limits, true);
  if (problem) ctx.addIssue({ code: 'custom', message: `literal: ${problem}` });
});

const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$/;

/** An object of output field -> path; keys are checked here since zod's record drops `__proto__`. */
const fieldMap = (relative: boolean) =>
  z.record(z.string(), pathString(relative)).superRefine((fields, ctx) => {
    const keys = Object.keys(fields);
    if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'at least one field is required' });
    if (keys.length > MAX_FIELDS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_FIELDS} fields` });
    for (const key of keys) {
      if (!FIELD_NAME.test(key) || FORBIDDEN.has(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `invalid field name "${key}"` });
      }
    }
  });

const OPERATORS = ['equals', 'notEquals', 'in', 'gt', 'lt', 'exists'] as const;
const comparable = z.union([z.number(), z.string()]);

const conditionSchema = z
  .strictObject({
    field: pathString(true).optional(),
    equals: jsonLiteral.optional(),
    notEquals: jsonLiteral.optional(),
    in: z.array(jsonLiteral).max(MAX_IN_VALUES).optional(),
    gt: comparable.optional(),
    lt: comparable.optional(),
    exists: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const ops = OPERATORS.filter((op) => c[op] !== undefined);
    if (ops.length !== 1) {
      const got = ops.length ? `got ${ops.join(', ')}` : 'got none';
      ctx.addIssue({
        code: 'custom',
        message: `exactly one of ${OPERATORS.join(', ')} is required (${got})`,
      });
    }
  });

const OPS = ['pick', 'filter', 'map', 'value'] as const;

const structuralSchema = z
  .strictObject({
    pick: fieldMap(false).optional(),
    filter: z
      .strictObject({
        from: pathString(false),
        where: z.union([conditionSchema, z.array(conditionSchema).min(1).max(MAX_CONDITIONS)]),
      })
      .optional(),
    map: z.strictObject({ from: pathString(false), to: fieldMap(true) }).optional(),
    value: jsonLiteral.optional(),
  })
  .superRefine((spec, ctx) => {
    const ops = OPS.filter((op) => spec[op] !== undefined);
    if (ops.length !== 1) {
      const got = ops.length ? `got ${ops.join(', ')}` : 'got none';
      ctx.addIssue({ code: 'custom', message: `exactly one of ${OPS.join(', ')} is required (${got})` });
    }
  });

/** Reject `__proto__`/`constructor`/`prototype` keys anywhere before zod rebuilds (and drops) them. */
function forbiddenKeyPath(raw: unknown): PathSegment[] | null {
  const stack: [unknown, PathSegment[]][] = [[raw, []]];
  let budget = MAX_RESULT_NODES * 2;
  while (stack.length > 0 && budget-- > 0) {
    const [v, at] = stack.pop()!;
    if (at.length > MAX_RESULT_DEPTH) continue; // the literal check reports the depth
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], [...at, i]]);
    } else if (typeof v === 'object' && v !== null) {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN.has(key)) return [...at, key];
        stack.push([(v as Record<string, unknown>)[key], [...at, key]]);
      }
    }
  }
  return null;
}

/**
 * Validates a transform spec. Issues carry the field path (e.g. `['filter', 'where', 'gt']`);
 * `parseTransformSpec` turns the first one into a single EXECUTION-004 error naming it.
 */
export const transformSpecSchema = z
  .unknown()
  .superRefine((raw, ctx) => {
    const at = forbiddenKeyPath(raw);
    if (at) ctx.addIssue({ code: 'custom', path: at, message: `key "${String(at.at(-1))}" is not allowed` });
  })
  .pipe(structuralSchema);

export function parseTransformSpec(
  raw: unknown,
): { ok: true; spec: TransformSpec } | { ok: false; error: TransformError } {
  const parsed = transformSpecSchema.safeParse(raw);
  if (parsed.success) return { ok: true, spec: parsed.data as TransformSpec };
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const field = path.length ? formatPath(path) : '(spec)';
  return {
    ok: false,
    error: {
      code: 'EXECUTION-004',
      path: field,
      message: `invalid transform spec at ${field}: ${issue.message}`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Step = { ok: true; value: unknown } | { ok: false; error: TransformError };

const invalid = (path: string, message: string): Step => ({
  ok: false,
  error: { code: 'EXECUTION-004', path, message },
});

function lookup(scope: TransformScope, path: string): Step {
  const parsed = parsePath(path);
  if (!parsed.ok) return invalid(path, parsed.message);
  const root = { inputs: scope.inputs, steps: scope.steps };
  const hit = resolvePath(root, parsed.segments);
  if (hit.found) return { ok: true, value: hit.value };
  return invalid(path, `unknown path ${path}: ${describeMiss([], parsed.segments, hit.depth)}`);
}

function lookupArray(scope: TransformScope, path: string): Step {
  const hit = lookup(scope, path);
  if (hit.ok && !Array.isArray(hit.value)) return invalid(path, `${path} is not an array`);
  return hit;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
    );
  }
  return false;
}

function holds(item: unknown, cond: Condition, field: readonly PathSegment[]): boolean {
  const hit = resolvePath(item, field);
  const v = hit.found ? hit.value : undefined;
  const present = v !== undefined;
  if ('exists' in cond) return present === cond.exists;
  if ('equals' in cond) return present && jsonEqual(v, cond.equals);
  if ('notEquals' in cond) return !(present && jsonEqual(v, cond.notEquals));
  if ('in' in cond) return present && cond.in.some((x) => jsonEqual(v, x));
  const bound = 'gt' in cond ? cond.gt : cond.lt;
  const gt = 'gt' in cond;
  if (typeof v === 'number' && typeof bound === 'number') return gt ? v > bound : v < bound;
  if (typeof v === 'string' && typeof bound === 'string') return gt ? v > bound : v < bound;
  return false;
}

function evaluate(spec: TransformSpec, scope: TransformScope): Step {
  if ('value' in spec) return { ok: true, value: spec.value };
  if ('pick' in spec) {
    const entries: [string, unknown][] = [];
    for (const [field, path] of Object.entries(spec.pick)) {
      const hit = lookup(scope, path);
      if (!hit.ok) return hit;
      entries.push([field, hit.value]);
    }
    // fromEntries defines own properties, so even an unexpected key cannot touch a prototype.
    return { ok: true, value: Object.fromEntries(entries) };
  }
  if ('filter' in spec) {
    const from = lookupArray(scope, spec.filter.from);
    if (!from.ok) return from;
    const where = spec.filter.where;
    const conds = (Array.isArray(where) ? where : [where]).map((c) => {
      const parsed = c.field === undefined ? null : parsePath(c.field, { relative: true });
      return { c, field: parsed?.ok ? parsed.segments : [] };
    });
    const kept = (from.value as unknown[]).filter((item) =>
      conds.every(({ c, field }) => holds(item, c, field)),
    );
    return { ok: true, value: kept };
  }
  const from = lookupArray(scope, spec.map.from);
  if (!from.ok) return from;
  const items = from.value as unknown[];
  if (items.length > MAX_RESULT_NODES) {
    return { ok: false, error: tooLarge(spec.map.from, `more than ${MAX_RESULT_NODES} values`) };
  }
  const fields = Object.entries(spec.map.to).map(([field, sub]) => {
    const parsed = parsePath(sub, { relative: true });
    return [field, parsed.ok ? parsed.segments : []] as const;
  });
  const fromSegs = parsePath(spec.map.from);
  const prefix = fromSegs.ok ? fromSegs.segments : [];
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i++) {
    const entries: [string, unknown][] = [];
    for (const [field, segs] of fields) {
      const hit = resolvePath(items[i], segs);
      if (!hit.found) {
        const full = formatPath([...prefix, i, ...segs]);
        return invalid(full, `unknown path ${full}: ${describeMiss([...prefix, i], segs, hit.depth)}`);
      }
      entries.push([field, hit.value]);
    }
    out.push(Object.fromEntries(entries));
  }
  return { ok: true, value: out };
}

function tooLarge(path: string, why: string): TransformError {
  return { code: 'EXECUTION-008', path, message: `transform result is too large: ${why}` };
}

/**
 * Validate `spec` (anything: it may come straight from a stored definition) and evaluate it
 * over `scope`. Never throws; every failure is a typed error with a stable code.
 */
export function evaluateTransform(spec: unknown, scope: TransformScope): TransformResult {
  const parsed = parseTransformSpec(spec);
  if (!parsed.ok) return parsed;
  const result = evaluate(parsed.spec, scope);
  if (!result.ok) return result;
  const limits = { nodes: MAX_RESULT_NODES, depth: MAX_RESULT_DEPTH, chars: MAX_RESULT_CHARS };
  const problem = checkSize(result.value, limits);
  if (problem) return { ok: false, error: tooLarge('(result)', problem) };
  return result;
}
