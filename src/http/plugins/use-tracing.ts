import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { unexpectedCause } from '../unexpectedErrors';

/**
 * An OpenTelemetry span per GraphQL operation (`graphql.operation.name` and `.type`, the error
 * count), around its execution, so the D1 calls of its resolvers are its children. Without a
 * tracer provider (OTEL_EXPORTER_OTLP_ENDPOINT unset, or the Node runtime) the API's no-op
 * tracer makes this free. The document and variables are never recorded: they may hold data.
 */
const tracer = trace.getTracer('changeflow.graphql');

const spans = new WeakMap<object, Span>();

export const useTracing = (): Plugin => ({
  instrumentation: {
    execute: ({ context }, wrapped) =>
      tracer.startActiveSpan('graphql.execute', async (span) => {
        spans.set(context, span);
        try {
          await wrapped();
        } finally {
          span.end();
        }
      }),
  },
  onExecute({ args }) {
    const span = spans.get(args.contextValue as object);
    if (!span?.isRecording()) return;
    const operation = getOperationAST(args.document, args.operationName);
    const name = operation?.name?.value;
    const type = operation?.operation ?? 'query';
    span.updateName(name ? `${type} ${name}` : type);
    span.setAttribute('graphql.operation.type', type);
    if (name) span.setAttribute('graphql.operation.name', name);
    return {
      onExecuteDone({ result }) {
        const errors = 'errors' in result ? (result.errors ?? []) : [];
        if (errors.length) span.setAttribute('graphql.error.count', errors.length);
        if (errors.some((e) => unexpectedCause(e) !== undefined || !e.extensions?.code)) {
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      },
    };
  },
});
