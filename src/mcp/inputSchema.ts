import {
  type GraphQLArgument,
  type GraphQLEnumType,
  type GraphQLInputField,
  type GraphQLInputType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import type { JsonSchema } from './jsonSchema';

/** JSON types of the scalars the schema uses; custom scalars carry a `format`. */
const SCALARS: Record<string, JsonSchema> = {
  String: { type: 'string' },
  ID: { type: 'string' },
  Int: { type: 'integer' },
  Float: { type: 'number' },
  Boolean: { type: 'boolean' },
  DateTime: { type: 'string', format: 'date-time' },
  JSON: {},
};

/** A `@pothos/plugin-zod` constraint is a value or `[value, { message }]`. */
const value = <T>(c: T | [T, unknown] | undefined): T | undefined => (Array.isArray(c) ? c[0] : c);

type Validate = Record<string, unknown> & { items?: Validate };

/** Carries the zod constraints declared with `validate` on a Pothos argument or input field over to JSON Schema. */
function applyConstraints(schema: JsonSchema, validate: Validate | undefined): JsonSchema {
  if (!validate || typeof validate !== 'object' || Array.isArray(validate)) return schema;
  const out = { ...schema };
  const v = (key: string) => value(validate[key] as never) as unknown;
  const num = (key: string) => (typeof v(key) === 'number' ? (v(key) as number) : undefined);
  if (out.type === 'array') {
    if (num('minLength') !== undefined) out.minItems = num('minLength');
    if (num('maxLength') !== undefined) out.maxItems = num('maxLength');
    if (num('length') !== undefined) out.minItems = out.maxItems = num('length');
    if (out.items && validate.items) out.items = applyConstraints(out.items, validate.items);
    return out;
  }
  if (out.type === 'string') {
    if (num('minLength') !== undefined) out.minLength = num('minLength');
    if (num('maxLength') !== undefined) out.maxLength = num('maxLength');
    if (num('length') !== undefined) out.minLength = out.maxLength = num('length');
    if (v('email') === true) out.format = 'email';
    if (v('url') === true) out.format = 'uri';
    if (v('uuid') === true) out.format = 'uuid';
    const regex = v('regex');
    if (regex instanceof RegExp) out.pattern = regex.source;
  }
  if (out.type === 'integer' || out.type === 'number') {
    if (num('min') !== undefined) out.minimum = num('min');
    if (num('max') !== undefined) out.maximum = num('max');
    if (v('positive') === true) out.exclusiveMinimum = 0;
    if (v('nonnegative') === true) out.minimum = Math.max(out.minimum ?? 0, 0);
    if (v('negative') === true) out.exclusiveMaximum = 0;
    if (v('int') === true) out.type = 'integer';
  }
  return out;
}

function enumSchema(type: GraphQLEnumType): JsonSchema {
  const values = type.getValues();
  const documented = values.filter((v) => v.description);
  const described = documented.length
    ? `${type.description ?? type.name} ${documented.map((v) => `${v.name}: ${v.description}`).join(' ')}`
    : (type.description ?? undefined);
  return {
    type: 'string',
    enum: values.map((v) => v.name),
    ...(described ? { description: described } : {}),
  };
}

/** JSON Schema of a GraphQL input type (nullability is handled by the caller through `required`). */
export function inputTypeSchema(type: GraphQLInputType): JsonSchema {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    // A list of enum values (a filter's "any of these") is described by its field; the values say
    // what they are, and the enum's own description would be repeated in every such filter.
    const items = inputTypeSchema(inner.ofType);
    if (items.enum) delete items.description;
    return { type: 'array', items };
  }
  if (isEnumType(inner)) return enumSchema(inner);
  if (isScalarType(inner)) {
    const base = SCALARS[inner.name] ?? { type: 'string' };
    return inner.description && !SCALARS[inner.name]
      ? { ...base, description: inner.description }
      : { ...base };
  }
  if (isInputObjectType(inner)) return objectSchema(Object.values(inner.getFields()), inner.description);
  throw new Error(`Unsupported input type ${String(type)}`);
}

function fieldSchema(field: GraphQLArgument | GraphQLInputField): JsonSchema {
  const validate = (field.extensions?.pothosOptions as { validate?: Validate } | undefined)?.validate;
  const schema = applyConstraints(inputTypeSchema(field.type), validate);
  if (field.description) schema.description = field.description;
  if (field.defaultValue !== undefined) schema.default = field.defaultValue;
  return schema;
}

/** `type: object, additionalProperties: false`, non-null fields without a default are required. */
export function objectSchema(
  fields: readonly (GraphQLArgument | GraphQLInputField)[],
  description?: string | null,
): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const field of fields) {
    properties[field.name] = fieldSchema(field);
    if (isNonNullType(field.type) && field.defaultValue === undefined) required.push(field.name);
  }
  return {
    type: 'object',
    ...(description ? { description } : {}),
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}
