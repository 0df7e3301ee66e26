import type { WorkflowStep } from 'cloudflare:workers';
import { instrument, OTLPExporter, type ResolveConfigFn } from '@microlabs/otel-cf-workers';
import {
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as Sentry from '@sentry/cloudflare';
import { loadConfig, type Observability, VERSION } from '../../config';

/**
 * Error tracking (Sentry, SENTRY_DSN) and traces (OpenTelemetry, OTEL_EXPORTER_OTLP_ENDPOINT) of
 * the Worker, each off unless configured. An invocation with neither goes straight to the plain
 * handler: no SDK is initialised, no binding wrapped, nothing added to outgoing requests.
 */

/** The settings of these bindings; none when the configuration is invalid (answered 503 and logged). */
export function observabilityOf(env: object): Observability | null {
  try {
    return loadConfig(env).observability;
  } catch {
    return null;
  }
}

/** JWTs, bearer credentials, our API keys and basic credentials in URLs, wherever they appear in a string. */
const CREDENTIALS: [RegExp, string][] = [
  [/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[jwt]'],
  [/\b(Bearer|Basic)\s+[\w.~+/=-]+/gi, '$1 [redacted]'],
  [/\bcf_[A-Za-z0-9]{20,}/g, '[api key]'],
  [/(\/\/)[^/@\s:]+:[^/@\s]+@/g, '$1[redacted]@'],
];

/** `value` with every credential-looking string in it replaced, recursively. */
export function redact<T>(value: T, depth = 0): T {
  if (typeof value === 'string') {
    let s: string = value;
    for (const [pattern, replacement] of CREDENTIALS) s = s.replace(pattern, replacement);
    return s as T;
  }
  if (depth > 12 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redact(v, depth + 1);
  return out as T;
}

/** A URL without its query and fragment (a webhook signature, a ticket, a token may ride there). */
export function withoutQuery(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.origin}${u.pathname}`;
  } catch {
    return raw.split(/[?#]/)[0] ?? '';
  }
}

type SentryEvent = Parameters<NonNullable<Sentry.CloudflareOptions['beforeSend']>>[0];

/**
 * What leaves for Sentry: the error, its stack and the request's method and path; never a body,
 * a header (Authorization, Cookie, an API key), a cookie, a query string, the user or the
 * breadcrumbs (outgoing URLs, log lines); and no token-looking string anywhere else.
 */
export function scrubEvent(event: SentryEvent): SentryEvent {
  const { request, user: _user, breadcrumbs: _breadcrumbs, ...rest } = event;
  const scrubbed: SentryEvent = redact(rest);
  if (request) {
    scrubbed.request = {
      ...(request.method ? { method: request.method } : {}),
      ...(request.url ? { url: withoutQuery(request.url) } : {}),
    };
  }
  return scrubbed;
}

/** Sentry's options for these bindings: errors only (traces go to OpenTelemetry). */
export function sentryOptions(env: object): Sentry.CloudflareOptions {
  let environment: string | undefined;
  let release: string | undefined;
  let dsn: string | undefined;
  try {
    const config = loadConfig(env);
    environment = config.environment;
    release = `changeflow@${config.version}`;
    dsn = config.observability.sentryDsn ?? undefined;
  } catch {
    // invalid configuration: no DSN, nothing sent
  }
  return {
    dsn,
    environment,
    release,
    // Collect nothing about the caller or the payload (Sentry 11's defaults collect all of it);
    // beforeSend then strips what an integration might still attach.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
      graphQL: { document: false, variables: false },
      genAI: { inputs: false, outputs: false },
      mcp: { inputs: false, outputs: false },
      databaseQueryData: false,
      queues: false,
      stackFrameVariables: false,
    },
    // No sentry-trace or baggage header on outgoing requests (workflow steps call third parties).
    tracePropagationTargets: [],
    beforeBreadcrumb: () => null,
    beforeSend: scrubEvent,
  };
}

type Handler<Env> = ExportedHandler<Env>;

/** A copy of `handler` (the SDKs wrap the object they are given in place). */
const copy = <Env>(handler: Handler<Env>): Handler<Env> => ({ ...handler });

export const otelConfig: ResolveConfigFn = (env) => {
  const otlp = observabilityOf(env as object)?.otlp;
  if (!otlp) throw new Error('OTEL_EXPORTER_OTLP_ENDPOINT is not set'); // never: chosen per invocation
  return {
    exporter: { url: otlp.tracesUrl, headers: otlp.headers },
    service: { name: otlp.serviceName },
    // The ratio decides from the trace id; a caller's traceparent (sampled or not) never does.
    sampling: { headSampler: { ratio: otlp.sampleRatio, acceptRemote: false } },
    // Workflow steps call third parties: they get no traceparent header from us.
    fetch: { includeTraceContext: false },
    instrumentation: { instrumentGlobalCache: false, instrumentGlobalFetch: true },
    postProcessor: (spans) => {
      for (const span of spans) {
        const attributes = span.attributes as Record<string, unknown>;
        for (const key of ['url.full', 'http.url']) {
          if (typeof attributes[key] === 'string') attributes[key] = withoutQuery(attributes[key] as string);
        }
        delete attributes['url.query'];
      }
      return spans;
    },
  };
};

/**
 * The Worker's handler with error tracking and traces where configured: the wrapped variant is
 * chosen per invocation from the configuration (a Worker's bindings are the same for all of them).
 */
export function observed<Env extends object>(
  handler: Handler<Env>,
): Required<Pick<Handler<Env>, 'fetch' | 'scheduled'>> {
  const traced = instrument(copy(handler) as never, otelConfig) as Handler<Env>;
  const tracked = Sentry.withSentry((env: Env) => sentryOptions(env), copy(handler));
  const both = Sentry.withSentry((env: Env) => sentryOptions(env), copy(traced));
  const pick = (env: Env): Handler<Env> => {
    const o = observabilityOf(env);
    if (!o || (!o.sentryDsn && !o.otlp)) return handler;
    if (o.sentryDsn && o.otlp) return both;
    return o.sentryDsn ? tracked : traced;
  };
  return {
    fetch: (request, env, ctx) => (pick(env).fetch as NonNullable<Handler<Env>['fetch']>)(request, env, ctx),
    scheduled: (controller, env, ctx) =>
      (pick(env).scheduled as NonNullable<Handler<Env>['scheduled']>)(controller, env, ctx),
  };
}

/** Reports an unexpected error of the current request to Sentry (inside `observed`'s handler). */
export function reportToSentry(error: unknown, details: { requestId: string }): void {
  Sentry.captureException(error, { tags: { requestId: details.requestId } });
}

type Otlp = NonNullable<Observability['otlp']>;

/** One tracer provider per isolate and collector, for Workflow steps (they run outside any fetch handler). */
let stepTracing: { key: string; tracer: Tracer; provider: BasicTracerProvider } | null = null;

function stepTracer(otlp: Otlp): { tracer: Tracer; provider: BasicTracerProvider } {
  const key = JSON.stringify(otlp);
  if (stepTracing?.key !== key) {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': otlp.serviceName, 'service.version': VERSION }),
      spanProcessors: [
        new SimpleSpanProcessor(new OTLPExporter({ url: otlp.tracesUrl, headers: otlp.headers })),
      ],
    });
    stepTracing = { key, tracer: provider.getTracer('changeflow.workflow'), provider };
  }
  return stepTracing;
}

/** 32 hex characters from `text` (an execution id): the trace id all of its steps share. */
async function hexDigest(text: string, length: number): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, length);
}

/**
 * Whether a trace is kept at `ratio`: its id's first 32 bits against the ratio's share of them,
 * as OpenTelemetry's trace-id ratio sampler does, so every step of one execution decides alike.
 */
export function traceSampled(traceId: string, ratio: number): boolean {
  return Number.parseInt(traceId.slice(0, 8), 16) < ratio * 2 ** 32;
}

/**
 * The steps of one execution as spans of one trace (its id derived from the instance id, so the
 * steps of every invocation of a long execution line up), each exported when it ends.
 */
async function tracedSteps(
  step: WorkflowStep,
  instanceId: string,
  otlp: Otlp,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<WorkflowStep> {
  const traceId = await hexDigest(instanceId, 32);
  if (!traceSampled(traceId, otlp.sampleRatio)) return step;
  const { tracer, provider } = stepTracer(otlp);
  const parent: Context = trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: await hexDigest(`${instanceId}/run`, 16),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const traced =
    (name: string, callback: (...args: unknown[]) => Promise<unknown>) =>
    (...args: unknown[]) =>
      tracer.startActiveSpan(
        `workflow.step ${name}`,
        {
          kind: SpanKind.INTERNAL,
          attributes: { 'workflow.instance_id': instanceId, 'workflow.step.name': name },
        },
        parent,
        async (span) => {
          try {
            return await callback(...args);
          } catch (e) {
            span.recordException(e as Error);
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw e;
          } finally {
            span.end();
            waitUntil(provider.forceFlush());
          }
        },
      );
  return new Proxy(step, {
    get(target, prop) {
      if (prop !== 'do') {
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (name: string, ...rest: unknown[]) => {
        const i = rest.findIndex((r) => typeof r === 'function');
        const args = [...rest];
        args[i] = traced(name, rest[i] as (...a: unknown[]) => Promise<unknown>);
        return (target.do as (...a: unknown[]) => Promise<unknown>)(name, ...args);
      };
    },
  });
}

/**
 * The Workflow class with, where configured, Sentry around each run (a step that still throws on
 * its last attempt, a bug or an outage, never a failed HTTP call, which is a result, is reported)
 * and a span per step exported to the OpenTelemetry collector.
 */
// biome-ignore lint/suspicious/noExplicitAny: a Workflow class takes (ctx, env)
export function withWorkflowObservability<T extends new (...args: any[]) => object>(Workflow: T): T {
  const tracked = Sentry.instrumentWorkflowWithSentry(
    (env: object) => sentryOptions(env),
    Workflow as never,
  ) as unknown as T;
  return new Proxy(Workflow, {
    construct(target, args, newTarget) {
      const [ctx, env] = args as [ExecutionContext, object];
      const o = observabilityOf(env);
      const instance = Reflect.construct(o?.sentryDsn ? tracked : target, args, newTarget);
      const otlp = o?.otlp;
      if (!otlp) return instance;
      return new Proxy(instance, {
        get(obj, prop, receiver) {
          const value = Reflect.get(obj, prop, receiver);
          if (prop !== 'run' || typeof value !== 'function') return value;
          return async (event: { instanceId: string }, step: WorkflowStep) =>
            value.call(obj, event, await tracedSteps(step, event.instanceId, otlp, (p) => ctx.waitUntil(p)));
        },
      });
    },
  });
}
