import { Validator } from '@cfworker/json-schema';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { ToolDefinition } from './catalog';
import type { JsonSchema } from './jsonSchema';
import type { OperationResult } from './server';

/**
 * The size bounds of a tool result, counted as an agent pays for it: a token is about 4 bytes of
 * UTF-8 of the result's JSON text (the structured content and its text mirror carry the same JSON;
 * a client gives the model one of them). Any result fits in 20k tokens, below the 25k-token
 * tool-result cap common clients apply; a page asked for without paging arguments fits in 4k
 * (the schema's default page sizes are chosen so that ordinary pages do without cutting; see
 * test/mcp/bounds.test.ts for the worst cases).
 */
export const BYTES_PER_TOKEN = 4;
export const MAX_RESULT_BYTES = 20_000 * BYTES_PER_TOKEN;
export const DEFAULT_PAGE_MAX_BYTES = 4_000 * BYTES_PER_TOKEN;

/** Shortened strings keep at least this many characters: enough to recognise the text. */
const MIN_STRING_CHARS = 80;

/** Where a truncated result says so, besides the note in its text content. */
export const TRUNCATION_META_KEY = 'changeflow/truncated';

const encoder = new TextEncoder();
export const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).length;

/** Keys whose strings are references an agent passes back (ids, cursors, URIs): never cut. */
const REFERENCE_KEY = /(^id$|Id$|Ids$|Uri$|Cursor$)/;

const typesOf = (schema: JsonSchema | undefined): string[] =>
  schema?.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];

/** A free-text string: no enum, format or pattern the shortened value could break. */
function isFreeText(schema: JsonSchema | undefined, key: string | null): boolean {
  if (!schema || !typesOf(schema).includes('string')) return false;
  if (schema.enum || schema.format || schema.pattern) return false;
  return key === null || !REFERENCE_KEY.test(key);
}

/** A JSON scalar (`{}` in the schema): any value is valid, so a long one becomes a preview string. */
const isOpaque = (schema: JsonSchema | undefined) =>
  schema !== undefined && schema.type === undefined && schema.properties === undefined && !schema.enum;

interface Cut {
  strings: number;
  values: number;
}

/** A copy of `value` with free-text strings and opaque JSON values cut to `max` characters. */
function shorten(
  value: unknown,
  schema: JsonSchema | undefined,
  key: string | null,
  max: number,
  cut: Cut,
  text: TextOf,
): unknown {
  if (typeof value === 'string') {
    if (value.length <= max || !isFreeText(schema, key)) return value;
    cut.strings++;
    return `${value.slice(0, max)}… [${value.length - max} more characters]`;
  }
  if (isOpaque(schema)) {
    if (value === null || value === undefined) return value;
    const json = text(value);
    if (json.length <= max) return value;
    cut.values++;
    return `${json.slice(0, max)}… [truncated JSON, ${json.length} characters]`;
  }
  if (Array.isArray(value)) return value.map((v) => shorten(v, schema?.items, key, max, cut, text));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = shorten(v, schema?.properties?.[k], k, max, cut, text);
    return out;
  }
  return value;
}

/** The longest string or opaque JSON text in `value`: where shortening starts. */
function longest(value: unknown, schema: JsonSchema | undefined, text: TextOf): number {
  if (typeof value === 'string') return value.length;
  if (isOpaque(schema)) return value == null ? 0 : text(value).length;
  if (Array.isArray(value))
    return value.reduce((m: number, v) => Math.max(m, longest(v, schema?.items, text)), 0);
  if (value && typeof value === 'object') {
    return Object.entries(value).reduce(
      (m: number, [k, v]) => Math.max(m, longest(v, schema?.properties?.[k], text)),
      0,
    );
  }
  return 0;
}

type TextOf = (value: unknown) => string;

/** JSON.stringify, once per object: bisection serialises the same opaque values many times. */
function memoText(): TextOf {
  const seen = new WeakMap<object, string>();
  return (value) => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value);
    let t = seen.get(value);
    if (t === undefined) {
      t = JSON.stringify(value);
      seen.set(value, t);
    }
    return t;
  };
}

/**
 * A copy of `value` whose lists keep at most `max` items, except a cursor page's `nodes` (dropping
 * nodes would make the page's endCursor skip them; their own lists are capped).
 */
function capLists(value: unknown, max: number, cut: { lists: number }): unknown {
  if (Array.isArray(value)) {
    if (value.length > max) cut.lists++;
    return value.slice(0, max).map((v) => capLists(v, max, cut));
  }
  if (value && typeof value === 'object') {
    const isPage = 'pageInfo' in value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        isPage && k === 'nodes' && Array.isArray(v)
          ? v.map((n) => capLists(n, max, cut))
          : capLists(v, max, cut);
    }
    return out;
  }
  return value;
}

/** The longest list in `value` other than a page's nodes. */
function longestList(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((m: number, v) => Math.max(m, longestList(v)), value.length);
  if (value && typeof value === 'object') {
    const isPage = 'pageInfo' in value;
    return Object.entries(value).reduce((m: number, [k, v]) => {
      if (isPage && k === 'nodes' && Array.isArray(v))
        return v.reduce((n: number, x) => Math.max(n, longestList(x)), m);
      return Math.max(m, longestList(v));
    }, 0);
  }
  return 0;
}

export type Bounded =
  | { ok: true; value: unknown; bytes: number; originalBytes: number; note: string | null }
  | { ok: false; code: 'RESULT_TOO_LARGE'; message: string; details: Record<string, unknown> };

/**
 * Fits a tool's structured result into `maxBytes`: first free-text strings and opaque JSON values
 * are cut, to the longest length that fits (never below 80 characters); then lists keep their
 * first items, as many as fit. Both by bisection, so a few linear passes whatever the size. The
 * items of a cursor page are never dropped (the page's endCursor would skip them): a page that
 * still does not fit is refused, with the page size that would.
 */
export function boundValue(value: unknown, schema: JsonSchema, maxBytes = MAX_RESULT_BYTES): Bounded {
  const originalBytes = jsonBytes(value);
  if (originalBytes <= maxBytes) return { ok: true, value, bytes: originalBytes, originalBytes, note: null };

  // The longest cut-off that fits, by bisection over the string length.
  let lo = MIN_STRING_CHARS;
  const text = memoText();
  let hi = Math.max(longest(value, schema, text), MIN_STRING_CHARS);
  let cut: Cut = { strings: 0, values: 0 };
  let best: unknown = shorten(value, schema, null, lo, cut, text);
  let bestCut = cut;
  if (jsonBytes(best) <= maxBytes) {
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      cut = { strings: 0, values: 0 };
      const candidate = shorten(value, schema, null, mid, cut, text);
      if (jsonBytes(candidate) <= maxBytes) {
        lo = mid;
        best = candidate;
        bestCut = cut;
      } else hi = mid - 1;
    }
  }
  const notes: string[] = [];
  if (bestCut.strings || bestCut.values) {
    notes.push(
      `${bestCut.strings + bestCut.values} long text or JSON value(s) cut to ${lo} characters ` +
        '(read the item on its own for the full text)',
    );
  }

  // Then lists keep only their first items, as many as fit (the same cap for every list).
  if (jsonBytes(best) > maxBytes) {
    let few = 0;
    let many = longestList(best);
    if (jsonBytes(capLists(best, few, { lists: 0 })) <= maxBytes) {
      while (few < many) {
        const mid = Math.ceil((few + many) / 2);
        if (jsonBytes(capLists(best, mid, { lists: 0 })) <= maxBytes) few = mid;
        else many = mid - 1;
      }
    }
    const lists = { lists: 0 };
    best = capLists(best, few, lists);
    notes.push(`${lists.lists} list(s) cut to their first ${few} item(s)`);
  }
  const bytes = jsonBytes(best);
  if (bytes > maxBytes) {
    const page = pageOf(best);
    const fit = page ? Math.max(1, Math.floor((page.length * maxBytes) / bytes)) : null;
    return {
      ok: false,
      code: 'RESULT_TOO_LARGE',
      message:
        `The result is ${originalBytes} bytes, over the ${maxBytes}-byte bound of a tool result` +
        (fit ? `; ask for fewer items (first: ${fit})` : ''),
      details: { limitBytes: maxBytes, resultBytes: originalBytes, ...(fit ? { suggestedFirst: fit } : {}) },
    };
  }
  return {
    ok: true,
    value: best,
    bytes,
    originalBytes,
    note: `the result was cut to fit ${maxBytes / BYTES_PER_TOKEN} tokens (${originalBytes} bytes before): ${notes.join('; ')}`,
  };
}

function pageOf(value: unknown): unknown[] | null {
  if (!value || typeof value !== 'object') return null;
  const { nodes } = value as { nodes?: unknown };
  if ('pageInfo' in value && Array.isArray(nodes)) return nodes;
  for (const v of Object.values(value)) {
    const page = pageOf(v);
    if (page) return page;
  }
  return null;
}

const outputValidators = new WeakMap<ToolDefinition, Validator>();

function outputValidator(tool: ToolDefinition): Validator {
  let v = outputValidators.get(tool);
  if (!v) {
    v = new Validator(tool.outputSchema as never, '2020-12', false);
    outputValidators.set(tool, v);
  }
  return v;
}

const tooLarge = (message: string, details: Record<string, unknown>): CallToolResult => ({
  isError: true,
  content: [
    { type: 'text', text: JSON.stringify({ error: { code: 'RESULT_TOO_LARGE', message, ...details } }) },
  ],
});

/** Whether the tool returns a page (takes `first`). */
export const pagesResults = (tool: ToolDefinition) => tool.inputSchema.properties?.first !== undefined;

/** A page asked for without paging arguments is held to 4k tokens, anything else to 20k. */
export function boundFor(tool: ToolDefinition, args: Record<string, unknown>): number {
  const paging = args.first !== undefined || args.after !== undefined;
  return pagesResults(tool) && !paging ? DEFAULT_PAGE_MAX_BYTES : MAX_RESULT_BYTES;
}

/** Runs the tool's document again with a smaller page (`first`); only read-only tools are re-run. */
export type Refetch = (first: number) => Promise<OperationResult>;

/**
 * The guard every successful tool call passes through: the result as it is when it fits; else a
 * cursor page too large for any cut asked for again with the page size that fits (so that its
 * endCursor is right); else a truncated copy that still validates against the tool's output
 * schema, with a note in a second text block and in `_meta`; else a RESULT_TOO_LARGE error.
 */
export async function boundToolResult(
  tool: ToolDefinition,
  structured: Record<string, unknown>,
  args: Record<string, unknown>,
  refetch?: Refetch,
): Promise<CallToolResult> {
  const maxBytes = boundFor(tool, args);
  let bounded = boundValue(structured, tool.outputSchema, maxBytes);
  let shorterPage: string | null = null;
  const pages = tool.annotations.readOnlyHint && pagesResults(tool);
  for (let tries = 0; !bounded.ok && refetch && pages && tries < 3; tries++) {
    const first = bounded.details.suggestedFirst;
    if (typeof first !== 'number') break;
    const again = await refetch(first);
    if (again.errors?.length) break;
    const value = again.data?.[tool.fieldName];
    const resultBytes = bounded.details.resultBytes;
    bounded = boundValue(tool.wrapKey ? { [tool.wrapKey]: value } : value, tool.outputSchema, maxBytes);
    shorterPage = `the page was too large (${resultBytes} bytes) and was asked for again with first: ${first}; its endCursor continues from there`;
  }
  if (!bounded.ok) return tooLarge(bounded.message, bounded.details);
  const value = bounded.value as Record<string, unknown>;
  const note = [shorterPage, bounded.note].filter(Boolean).join('; ');
  if (!note) return { structuredContent: value, content: [{ type: 'text', text: JSON.stringify(value) }] };
  if (bounded.note !== null && !outputValidator(tool).validate(value).valid) {
    return tooLarge(`The result is ${bounded.originalBytes} bytes and cannot be shortened to ${maxBytes}`, {
      limitBytes: maxBytes,
      resultBytes: bounded.originalBytes,
    });
  }
  const text = `Note: ${note}`;
  return {
    structuredContent: value,
    content: [
      { type: 'text', text: JSON.stringify(value) },
      { type: 'text', text },
    ],
    _meta: {
      [TRUNCATION_META_KEY]: { originalBytes: bounded.originalBytes, bytes: bounded.bytes, note: text },
    },
  };
}

/**
 * The guard of `resources/read`: a resource's JSON held to the same 20k tokens as a tool result
 * (a host may put it in the model's context as it is, and `prepare_cab_review` embeds one). Free
 * text and long lists are cut as for a tool, with the cut said in the content's `_meta`; a page
 * whose items alone are too large is read again with the page size that fits (its URI has no
 * cursor, so the first items are the resource).
 */
export async function boundResourceContent(
  value: unknown,
  schema: JsonSchema,
  refetch?: (first: number) => Promise<unknown>,
): Promise<Bounded & { shorterPage?: number }> {
  let bounded = boundValue(value, schema);
  let shorterPage: number | undefined;
  for (let tries = 0; !bounded.ok && refetch && tries < 3; tries++) {
    const first = bounded.details.suggestedFirst;
    if (typeof first !== 'number') break;
    shorterPage = first;
    bounded = boundValue(await refetch(first), schema);
  }
  return shorterPage === undefined ? bounded : { ...bounded, shorterPage };
}
