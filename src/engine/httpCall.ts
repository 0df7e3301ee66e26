import { checkEgress, type EgressPolicy, templatedAuthority } from '../domain/egress';
import type { httpRequestStepSchema } from '../domain/workflowSteps';
import { readUpTo } from '../streams';
import { parseRetryAfter } from './backoff';
import { type ClassifiedError, classifyError, type ErrorKind } from './errorClass';
import { redactSecrets, renderTemplate, type TemplateScope } from './template';

/**
 * One attempt of an `http-request` step: render the templates, send with a timeout and a cancel
 * signal, and classify what came back. Retrying, the breaker and recording are the caller's.
 */

export type HttpStep = import('zod').output<typeof httpRequestStepSchema>;

/** What a successful call hands to later steps (`steps.<id>.status`, `.headers`, `.body`). */
export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export type HttpCallResult =
  | { ok: true; output: HttpOutput; ms: number }
  | { ok: false; error: ClassifiedError; retryAfterMs: number | null; ms: number };

/** A response body bigger than this fails the step (EXECUTION-008) instead of filling memory. */
export const MAX_RESPONSE_BYTES = 512 * 1024;
/** Response headers a later step may read; the rest are dropped from the output. */
const KEPT_HEADERS = ['content-type', 'location', 'etag', 'retry-after', 'x-request-id'];

function accepts(successStatuses: readonly string[], status: number): boolean {
  return successStatuses.some((range) => {
    const [from, to] = range.split('-').map(Number) as [number, number | undefined];
    return status >= from && status <= (to ?? from);
  });
}

/** Reads at most `max` bytes; null when the body is longer (the rest is not downloaded). */
async function readCapped(response: Response, max: number): Promise<string | null> {
  if (!response.body) return '';
  const bytes = await readUpTo(response.body, max);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

function parseBody(text: string, contentType: string | null): unknown {
  if (contentType?.includes('json') && text.length > 0) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

type Rendered =
  | { ok: true; url: string; headers: Record<string, string>; body: string | undefined }
  | { ok: false; error: ClassifiedError };

function render(step: HttpStep, scope: TemplateScope): Rendered {
  const invalid = (path: string, message: string): Rendered => ({
    ok: false,
    error: classifyError({ kind: 'validation', message: `${path}: ${message}` }),
  });
  const url = renderTemplate(step.url, scope, { context: 'url' });
  if (!url.ok) return invalid(`url ${url.error.path}`, url.error.message);
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(step.headers)) {
    const value = renderTemplate(template, scope, { context: 'header' });
    if (!value.ok) return invalid(`headers.${name} ${value.error.path}`, value.error.message);
    headers[name] = value.value;
  }
  let body: string | undefined;
  if (step.body !== undefined) {
    const declared = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
    const json = declared ? declared.includes('json') : /^\s*[[{]/.test(step.body);
    const form = declared?.toLowerCase().includes('application/x-www-form-urlencoded') ?? false;
    const context = json ? 'json' : form ? 'form' : 'text';
    const rendered = renderTemplate(step.body, scope, { context });
    if (!rendered.ok) return invalid(`body ${rendered.error.path}`, rendered.error.message);
    body = rendered.value;
    if (json && !declared) headers['content-type'] = 'application/json';
  }
  return { ok: true, url: url.value, headers, body };
}

/**
 * Why this attempt may not send its request, or null. Checked on the rendered URL, every attempt,
 * before anything is sent: the tenant's allow-list may have changed since the workflow was saved,
 * and a definition saved before these rules may still carry a placeholder in its host.
 */
function egressRefusal(step: HttpStep, renderedUrl: string, policy: EgressPolicy): string | null {
  const templated = templatedAuthority(step.url);
  if (templated) return `url: ${templated}`;
  const verdict = checkEgress(renderedUrl, policy);
  return verdict.ok ? null : `${step.method} refused by the egress policy: ${verdict.message}`;
}

/**
 * Sends the request. `cancel` aborts it from outside (the execution was cancelled); the step's
 * own timeout aborts it too, and the two are told apart in the classification. Redirects are not
 * followed: a 3xx is the step's result (accepted or not by its successStatuses), so a redirect
 * can carry neither the request nor its headers to a host the egress policy refuses.
 */
export async function callHttp(
  step: HttpStep,
  scope: TemplateScope,
  opts: {
    fetch: typeof fetch;
    egress: EgressPolicy;
    cancel?: AbortSignal;
    now?: () => number;
    /** Refuses a rendered URL before anything is sent (a message), e.g. a secret's host rule. */
    checkUrl?: (url: URL) => string | null;
  },
): Promise<HttpCallResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const ms = () => now() - started;
  const secrets = scope.secrets ?? {};
  const fail = (kind: ErrorKind, message: string, status?: number, retryAfterMs: number | null = null) => ({
    ok: false as const,
    error: classifyError({ kind, message: redactSecrets(message, secrets), status }),
    retryAfterMs,
    ms: ms(),
  });
  const rendered = render(step, scope);
  if (!rendered.ok) return { ok: false, error: rendered.error, retryAfterMs: null, ms: ms() };
  const refused = egressRefusal(step, rendered.url, opts.egress);
  if (refused) return fail('egress-denied', refused);
  if (opts.checkUrl) {
    const target = URL.canParse(rendered.url) ? new URL(rendered.url) : null;
    const refusal = target
      ? opts.checkUrl(target)
      : 'the rendered URL is not valid; the request was not sent';
    if (refusal) return fail('validation', refusal);
  }
  if (opts.cancel?.aborted) return fail('cancelled', 'execution cancelled before the request was sent');

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, step.timeoutMs);
  const onCancel = () => controller.abort();
  opts.cancel?.addEventListener('abort', onCancel);
  try {
    const response = await opts.fetch(rendered.url, {
      method: step.method,
      headers: rendered.headers,
      body: step.method === 'GET' || step.method === 'HEAD' ? undefined : rendered.body,
      signal: controller.signal,
      redirect: 'manual',
    });
    const text = await readCapped(response, MAX_RESPONSE_BYTES);
    if (text === null) {
      return fail('output-too-large', `response body is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    const contentType = response.headers.get('content-type');
    if (!accepts(step.successStatuses, response.status)) {
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now());
      const excerpt = text.slice(0, 200);
      return fail(
        'http',
        `${step.method} ${new URL(rendered.url).host} answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
        response.status,
        retryAfter,
      );
    }
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const v = response.headers.get(name);
      if (v !== null) headers[name] = v;
    }
    return {
      ok: true,
      output: { status: response.status, headers, body: parseBody(text, contentType) },
      ms: ms(),
    };
  } catch (e) {
    if (opts.cancel?.aborted) return fail('cancelled', 'execution cancelled; the request was aborted');
    if (timedOut) return fail('timeout', `no response within ${step.timeoutMs} ms`);
    // A fetch that checks the addresses it connects to (the Node runtime's) refused this one: the
    // name resolves to a loopback, private or metadata address. Not a network failure to retry.
    if ((e as { code?: unknown })?.code === 'EGRESS_DENIED')
      return fail('egress-denied', (e as Error).message);
    return fail('network', `request failed: ${(e as Error)?.message ?? String(e)}`);
  } finally {
    clearTimeout(timer);
    opts.cancel?.removeEventListener('abort', onCancel);
  }
}
