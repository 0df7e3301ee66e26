import { GraphQLError, Kind } from 'graphql';
import { parseInstant } from '../domain/schedule';
import { builder } from './builder';

function parseDateTime(value: unknown): string {
  if (typeof value !== 'string' || parseInstant(value) === null) {
    throw new GraphQLError(
      `DateTime must be an ISO-8601 date-time with an offset, e.g. 2026-01-31T09:00:00Z (got ${JSON.stringify(value)})`,
      { extensions: { code: 'VALIDATION_FAILED' } },
    );
  }
  return new Date(value).toISOString();
}

builder.scalarType('DateTime', {
  description: 'An instant as an ISO-8601 string with an offset; always returned in UTC (`Z`).',
  specifiedByURL: 'https://datatracker.ietf.org/doc/html/rfc3339',
  serialize: (v) => String(v),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

builder.scalarType('JSON', {
  description: 'Any JSON value (used for audit before/after snapshots).',
  serialize: (v) => v,
  parseValue: (v) => v,
});
