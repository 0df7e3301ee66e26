import {
  type GraphQLField,
  type GraphQLObjectType,
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
import { type JsonSchema, orNull, stripNull } from './jsonSchema';

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

/** The leaf fields an object type names as its summary in compact results (`mcp: { summary }`). */
function summaryOf(type: GraphQLObjectType): string[] | undefined {
  return (type.extensions as { mcpSummary?: string[] }).mcpSummary;
}

function leafField(type: GraphQLObjectType, name: string, where: string) {
  const field = type.getFields()[name];
  if (!field || !selectable(field)) throw new Error(`${where}: ${type.name} has no selectable field ${name}`);
  return field;
}

/**
 * The compact selection of a mutation tool's result: the summary of an object that declares one,
 * plus the fields the tool itself sets (`changes`, paths such as `reviewDueAt` or
 * `change.riskLevel`). A result type without a summary (a payload such as ApprovalResult) gives its
 * leaf fields and each nested object compacted: its summary, or its leaf fields.
 */
export function compactSelection(
  type: GraphQLOutputType,
  changes: readonly string[] = [],
  where = String(type),
  nested = false,
): string {
  const named = getNamedType(type);
  if (!isObjectType(named)) {
    if (changes.length) throw new Error(`${where}: ${named.name} has no fields to name in changes`);
    return '';
  }
  const own = changes.filter((c) => !c.includes('.'));
  const below = (name: string) =>
    changes.filter((c) => c.startsWith(`${name}.`)).map((c) => c.slice(name.length + 1));
  for (const path of changes) leafField(named, path.split('.')[0] as string, where);
  const parts: string[] = [];
  const summary = summaryOf(named);
  if (summary) {
    for (const name of [...summary, ...own]) {
      const field = leafField(named, name, where);
      if (!isLeafType(getNamedType(field.type))) {
        throw new Error(`${where}: ${named.name}.${name} in a summary or changes must be a leaf field`);
      }
      if (!parts.includes(name)) parts.push(name);
    }
    return parts.join(' ');
  }
  for (const field of Object.values(named.getFields())) {
    if (!selectable(field)) continue;
    if (isLeafType(getNamedType(field.type))) parts.push(field.name);
    else if (!nested || below(field.name).length) {
      const inner = compactSelection(field.type, below(field.name), `${where}.${field.name}`, true);
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

/**
 * A leaf's type and enum. Descriptions are for inputs, and so is `format` (a date-time is a string
 * the agent reads, and an output schema checks what we send): output schemas stay lean.
 */
function leafSchema(type: GraphQLOutputType): JsonSchema {
  const named = getNamedType(type);
  if (!isEnumType(named) && !isScalarType(named)) throw new Error(`${named.name} is not a leaf type`);
  const { description: _description, format: _format, ...schema } = inputTypeSchema(named);
  return schema;
}

/**
 * JSON Schema of exactly what `selection` returns for `type`: types, enums and required fields,
 * without descriptions; `names` collects each enum's and object's shape with its type name (for
 * `shareDefinitions`). Every tool's output schema is in every `tools/list`, and the field
 * descriptions are in the GraphQL schema (and its SDL) for whoever needs them.
 */
export function selectionSchema(
  type: GraphQLOutputType,
  selection: SelectionSetNode | undefined,
  names?: Map<string, string>,
): JsonSchema {
  if (isNonNullType(type)) {
    const inner = selectionSchema(type.ofType, selection, names);
    // selectionSchema of a nullable type adds null; strip it back off for non-null.
    return stripNull(inner);
  }
  let schema: JsonSchema;
  if (isListType(type)) schema = { type: 'array', items: selectionSchema(type.ofType, selection, names) };
  else if (isLeafType(type)) {
    schema = leafSchema(type);
    if (isEnumType(type)) names?.set(JSON.stringify(schema), type.name);
  } else if (isObjectType(type)) {
    if (!selection) throw new Error(`${type.name} needs a selection set`);
    const fields = type.getFields();
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const node of selection.selections) {
      if (node.kind !== Kind.FIELD) throw new Error('fragments are not supported in tool selections');
      const name = node.alias?.value ?? node.name.value;
      if (node.name.value === '__typename') {
        properties[name] = { type: 'string' };
        required.push(name);
        continue;
      }
      const field = fields[node.name.value];
      if (!field) throw new Error(`${type.name} has no field ${node.name.value}`);
      properties[name] = selectionSchema(field.type, node.selectionSet, names);
      if (isNonNullType(field.type)) required.push(name);
    }
    // `required` names the fields that always hold a value; a nullable one may be null (GraphQL
    // sends it as null; a client may treat it as absent). No `additionalProperties: false`: the
    // result is exactly the selection. Both keep what every tools/list costs an agent down.
    schema = { type: 'object', properties, ...(required.length ? { required } : {}) };
    names?.set(JSON.stringify(schema), type.name);
  } else throw new Error(`Unsupported output type ${String(type)}`);
  return orNull(schema);
}
