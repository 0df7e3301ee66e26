import {
  type GraphQLField,
  type GraphQLOutputType,
  getNamedType,
  isEnumType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  type SelectionSetNode,
} from 'graphql';
import { inputTypeSchema } from './inputSchema';
import { type JsonSchema, orNull } from './jsonSchema';

/** Fields an agent can select without arguments (none required). */
function selectable(field: GraphQLField<unknown, unknown>): boolean {
  return field.args.every((a) => !isNonNullType(a.type) || a.defaultValue !== undefined);
}

/**
 * The default selection for a return type: every leaf field, and nested objects down to
 * `depth` levels (1 = only the leaves of the returned type).
 */
export function defaultSelection(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (!isObjectType(named)) return '';
  const parts: string[] = [];
  for (const field of Object.values(named.getFields())) {
    if (!selectable(field)) continue;
    if (isLeafType(getNamedType(field.type))) parts.push(field.name);
    else if (depth > 1) {
      const inner = defaultSelection(field.type, depth - 1);
      if (inner) parts.push(`${field.name} { ${inner} }`);
    }
  }
  return parts.join(' ');
}

export function parseSelection(selection: string): SelectionSetNode {
  const doc = parse(`{ ${selection} }`);
  const op = doc.definitions[0];
  if (op?.kind !== Kind.OPERATION_DEFINITION) throw new Error('selection must be a plain selection set');
  return op.selectionSet;
}

function leafSchema(type: GraphQLOutputType): JsonSchema {
  const named = getNamedType(type);
  if (isEnumType(named) || isScalarType(named)) return inputTypeSchema(named);
  throw new Error(`${named.name} is not a leaf type`);
}

/** JSON Schema describing exactly what `selection` returns for `type`. */
export function selectionSchema(
  type: GraphQLOutputType,
  selection: SelectionSetNode | undefined,
): JsonSchema {
  if (isNonNullType(type)) {
    const inner = selectionSchema(type.ofType, selection);
    // selectionSchema of a nullable type adds null; strip it back off for non-null.
    return stripNull(inner);
  }
  let schema: JsonSchema;
  if (isListType(type)) schema = { type: 'array', items: selectionSchema(type.ofType, selection) };
  else if (isLeafType(type)) schema = leafSchema(type);
  else if (isObjectType(type)) {
    if (!selection) throw new Error(`${type.name} needs a selection set`);
    const fields = type.getFields();
    const properties: Record<string, JsonSchema> = {};
    for (const node of selection.selections) {
      if (node.kind !== Kind.FIELD) throw new Error('fragments are not supported in tool selections');
      const name = node.alias?.value ?? node.name.value;
      if (node.name.value === '__typename') {
        properties[name] = { type: 'string' };
        continue;
      }
      const field = fields[node.name.value];
      if (!field) throw new Error(`${type.name} has no field ${node.name.value}`);
      properties[name] = selectionSchema(field.type, node.selectionSet);
      if (field.description) properties[name] = { ...properties[name], description: field.description };
    }
    schema = {
      type: 'object',
      ...(type.description ? { description: type.description } : {}),
      properties,
      required: Object.keys(properties),
      additionalProperties: false,
    };
  } else throw new Error(`Unsupported output type ${String(type)}`);
  return orNull(schema);
}

function stripNull(schema: JsonSchema): JsonSchema {
  if (!Array.isArray(schema.type)) return schema;
  const types = schema.type.filter((t) => t !== 'null');
  const out: JsonSchema = { ...schema, type: types.length === 1 ? types[0] : types };
  if (out.enum) out.enum = out.enum.filter((v) => v !== null);
  return out;
}
