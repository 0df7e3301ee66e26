import { describeMiss, parsePath, resolvePath } from '../domain/transform';

/**
 * Templates for `http-request` url, headers and body: `{{ inputs.x }}`, `{{ steps.a.body.id }}`,
 * `{{ secrets.NAME }}`. Paths follow transform.ts (same grammar, same prototype guards). Text
 * between `{{` and `}}` must be such a path; a `{{` with no closing `}}` stays literal. A value
 * that is missing (an unknown path, or a secret not in the map) is an error naming the path;
 * JSON null is a value, not a miss.
 *
 * Each substituted value is first turned into text - a string as is, anything else as its JSON
 * text (`42`, `true`, `null`, `{"a":1}`) - and then fitted to the context the caller names:
 * - `text`: inserted as is.
 * - `url`: percent-encoded with encodeURIComponent, so a value can never add a path segment,
 *   query parameter or host; scheme, host and port must be literal in the template (the step
 *   schema refuses a placeholder before the path). A value that would make a whole path segment
 *   `.` or `..` (which the URL parser resolves, moving up the path) is an error.
 * - `form` (an application/x-www-form-urlencoded body): form-encoded as URLSearchParams does, so
 *   `x&role=admin` stays one value and cannot add a parameter.
 * - `header`: as text, but a value (or template) containing CR, LF or NUL is an error
 *   (header injection).
 * - `json` (a JSON body): inside a JSON string literal (`"Bearer {{ secrets.T }}"`) the text is
 *   JSON-escaped, so it cannot close the string or inject keys; outside a string
 *   (`{"n": {{ inputs.n }}}`) the value is inserted as JSON, keeping its type. The rendered
 *   body must then parse as JSON, or it is an error.
 *
 * Secrets: the result carries `secretsUsed` (names, first use first) and `redacted`, the same
 * rendering with each secret shown as `[REDACTED:NAME]`; log and store `redacted`, send `value`.
 * Error messages name paths, never values.
 */

export type TemplateContext = 'text' | 'url' | 'header' | 'json' | 'form';

export interface TemplateScope {
  inputs?: unknown;
  steps?: Readonly<Record<string, unknown>>;
  /** Secret values by name (the tenant's workflow secrets); only names ever leave this module. */
  secrets?: Readonly<Record<string, string>>;
}

export interface TemplateError {
  code: 'EXECUTION-004';
  /** The placeholder's path, or `(template)` for a problem with the whole rendering. */
  path: string;
  message: string;
}

export type TemplateResult =
  | { ok: true; value: string; redacted: string; secretsUsed: string[] }
  | { ok: false; error: TemplateError };

export const MAX_RENDERED_CHARS = 1_000_000;
const ROOTS = ['inputs', 'steps', 'secrets'];
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNSAFE_HEADER = /[\r\n\0]/;

const fail = (path: string, message: string): TemplateResult => ({
  ok: false,
  error: { code: 'EXECUTION-004', path, message },
});

type Lookup = { ok: true; value: unknown; secret?: string } | { ok: false; result: TemplateResult };

function lookup(raw: string, scope: TemplateScope): Lookup {
  const path = raw.trim();
  const parsed = parsePath(path);
  if (!parsed.ok) return { ok: false, result: fail(path, `invalid placeholder: ${parsed.message}`) };
  const segs = parsed.segments;
  if (!ROOTS.includes(String(segs[0]))) {
    return { ok: false, result: fail(path, `placeholder ${path} must start with ${ROOTS.join(', ')}`) };
  }
  if (segs[0] === 'secrets') {
    const name = segs[1];
    if (segs.length !== 2 || typeof name !== 'string' || !SECRET_NAME.test(name)) {
      return { ok: false, result: fail(path, `invalid secret reference ${path}: use secrets.NAME`) };
    }
    const secrets = scope.secrets ?? {};
    const value = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
    if (typeof value !== 'string') return { ok: false, result: fail(path, `unknown secret ${name}`) };
    return { ok: true, value, secret: name };
  }
  const hit = resolvePath({ inputs: scope.inputs, steps: scope.steps }, segs);
  if (hit.found) return { ok: true, value: hit.value };
  return { ok: false, result: fail(path, `unknown path ${path}: ${describeMiss([], segs, hit.depth)}`) };
}

function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

/** Fit one value to its context; `inString` only matters for `json`. */
function fitToContext(value: unknown, context: TemplateContext, inString: boolean): string | null {
  if (context === 'json' && !inString) {
    try {
      return JSON.stringify(value) ?? null;
    } catch {
      return null;
    }
  }
  const text = asText(value);
  if (text === null) return null;
  if (context === 'url') return encodeURIComponent(text);
  if (context === 'form') return new URLSearchParams([['', text]]).toString().slice(1);
  if (context === 'json') return JSON.stringify(text).slice(1, -1);
  return text;
}

export function renderTemplate(
  template: string,
  scope: TemplateScope,
  opts: { context?: TemplateContext } = {},
): TemplateResult {
  const context = opts.context ?? 'text';
  const secretsUsed: string[] = [];
  let value = '';
  let redacted = '';
  let inString = false;
  /** Where each substituted value sits in `value`, with its placeholder's path. */
  const spans: { start: number; end: number; path: string }[] = [];
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('{{', i)) {
      const close = template.indexOf('}}', i + 2);
      if (close !== -1) {
        const found = lookup(template.slice(i + 2, close), scope);
        if (!found.ok) return found.result;
        const path = template.slice(i + 2, close).trim();
        const text = fitToContext(found.value, context, inString);
        if (text === null) return fail(path, `value at ${path} cannot be rendered as text`);
        if (context === 'header' && UNSAFE_HEADER.test(text)) {
          return fail(path, `value at ${path} contains a line break or NUL, not allowed in a header`);
        }
        spans.push({ start: value.length, end: value.length + text.length, path });
        value += text;
        if (found.secret === undefined) redacted += text;
        else {
          redacted += fitToContext(`[REDACTED:${found.secret}]`, context, inString);
          if (!secretsUsed.includes(found.secret)) secretsUsed.push(found.secret);
        }
        if (value.length > MAX_RENDERED_CHARS) {
          return fail('(template)', `rendered template is longer than ${MAX_RENDERED_CHARS} characters`);
        }
        i = close + 2;
        continue;
      }
    }
    const ch = template[i]!;
    let chunk = ch;
    if (inString && ch === '\\') chunk = template.slice(i, i + 2);
    else if (ch === '"') inString = !inString;
    value += chunk;
    redacted += chunk;
    i += chunk.length;
  }
  if (value.length > MAX_RENDERED_CHARS) {
    return fail('(template)', `rendered template is longer than ${MAX_RENDERED_CHARS} characters`);
  }
  if (context === 'header' && UNSAFE_HEADER.test(value)) {
    return fail('(template)', 'header template contains a line break or NUL');
  }
  if (context === 'url') {
    const dot = dotSegmentFrom(value, spans);
    if (dot)
      return fail(
        dot,
        `value at ${dot} would make a "." or ".." path segment, which moves the request up the path`,
      );
  }
  if (context === 'json') {
    try {
      JSON.parse(value);
    } catch {
      return fail('(template)', 'rendered body is not valid JSON; check quoting around placeholders');
    }
  }
  return { ok: true, value, redacted, secretsUsed };
}

/** A path segment the URL parser treats as `.` or `..` (it also decodes `%2e`). */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * The placeholder whose value makes a path segment `.` or `..` in a rendered URL, or null. Only
 * segments a value contributed to count: the template's own text is the author's.
 */
function dotSegmentFrom(
  url: string,
  spans: readonly { start: number; end: number; path: string }[],
): string | null {
  const afterScheme = url.indexOf('//');
  if (afterScheme === -1) return null;
  const pathStart = url.slice(afterScheme + 2).search(/[/\\?#]/);
  if (pathStart === -1) return null;
  let start = afterScheme + 2 + pathStart;
  const pathEnd = url.slice(start).search(/[?#]/);
  const end = pathEnd === -1 ? url.length : start + pathEnd;
  while (start < end) {
    const next = url.slice(start + 1, end).search(/[/\\]/);
    const segEnd = next === -1 ? end : start + 1 + next;
    const segment = url.slice(start + 1, segEnd);
    if (DOT_SEGMENT.test(segment)) {
      const span = spans.find((x) => x.start < segEnd && x.end > start + 1);
      if (span) return span.path;
    }
    start = segEnd;
  }
  return null;
}

/**
 * Scrub secret values from text we did not render ourselves (an upstream's error body that
 * echoes a header, an exception message) before it is logged or stored. Also catches the
 * JSON-escaped and percent-encoded forms; longer secrets are replaced first.
 */
export function redactSecrets(text: string, secrets: Readonly<Record<string, string>>): string {
  const forms: [string, string][] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    if (!secret) continue;
    const variants = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
    for (const v of variants) forms.push([v, `[REDACTED:${name}]`]);
  }
  forms.sort((a, b) => b[0].length - a[0].length);
  let out = text;
  for (const [needle, mask] of forms) out = out.split(needle).join(mask);
  return out;
}
