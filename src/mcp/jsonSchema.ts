/** The subset of JSON Schema (2020-12) the generator emits. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  title?: string;
  enum?: (string | null)[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  default?: unknown;
}

/** A schema that also accepts null (nullable GraphQL output). */
export function orNull(schema: JsonSchema): JsonSchema {
  if (schema.type === undefined) return schema; // any JSON value already includes null
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const out: JsonSchema = { ...schema, type: [...types, 'null'] };
  if (schema.enum) out.enum = [...schema.enum, null];
  return out;
}
