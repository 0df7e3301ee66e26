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
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
}

/** A schema that also accepts null (nullable GraphQL output). */
export function orNull(schema: JsonSchema): JsonSchema {
  if (schema.type === undefined) return schema; // any JSON value already includes null
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const out: JsonSchema = { ...schema, type: [...types, 'null'] };
  if (schema.enum) out.enum = [...schema.enum, null];
  return out;
}

/** The schema without the null that `orNull` added. */
export function stripNull(schema: JsonSchema): JsonSchema {
  if (!Array.isArray(schema.type)) return schema;
  const types = schema.type.filter((t) => t !== 'null');
  const out: JsonSchema = { ...schema, type: types.length === 1 ? types[0] : types };
  if (out.enum) out.enum = out.enum.filter((v) => v !== null);
  return out;
}

const isNullable = (schema: JsonSchema) => Array.isArray(schema.type) && schema.type.includes('null');
const size = (schema: JsonSchema) => JSON.stringify(schema).length;

/** Rewrites every sub-schema (not the root) bottom-up. */
function mapChildren(schema: JsonSchema, f: (s: JsonSchema) => JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (schema.items) out.items = f(mapChildren(schema.items, f));
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, f(mapChildren(v, f))]),
    );
  }
  return out;
}

/**
 * Moves a named shape (an enum or an object type's selection) that a schema repeats into `$defs`,
 * once, with `$ref`s where it was, whenever that makes the schema smaller. `names` maps a shape
 * (its JSON, without null) to its GraphQL type name. The SDK clients' validators (Ajv and
 * @cfworker/json-schema) resolve `#/$defs/…` references; test/mcp/budget.test.ts checks it.
 */
export function shareDefinitions(root: JsonSchema, names: ReadonlyMap<string, string>): JsonSchema {
  let current = root;
  const tried = new Set<string>();
  for (;;) {
    const counts = new Map<string, number>();
    const count = (s: JsonSchema) => {
      const key = JSON.stringify(stripNull(s));
      if (names.has(key) && !tried.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
      return s;
    };
    mapChildren({ ...current, $defs: undefined }, count);
    for (const def of Object.values(current.$defs ?? {})) mapChildren(def, count);
    // The largest repeated shape first: shapes inside it are then counted once, in its definition.
    const [key] = [...counts].filter(([, n]) => n > 1).sort((a, b) => b[0].length - a[0].length)[0] ?? [];
    if (key === undefined) return current;
    tried.add(key);
    const taken = new Set(Object.keys(current.$defs ?? {}));
    const base = names.get(key) as string;
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}${i}`;
    const ref = { $ref: `#/$defs/${name}` };
    const replace = (s: JsonSchema) =>
      JSON.stringify(stripNull(s)) !== key ? s : isNullable(s) ? { anyOf: [ref, { type: 'null' }] } : ref;
    const { $defs, ...rest } = current;
    const defs = Object.fromEntries(
      Object.entries($defs ?? {}).map(([k, v]) => [k, mapChildren(v, replace)]),
    );
    const candidate = { ...mapChildren(rest, replace), $defs: { ...defs, [name]: JSON.parse(key) } };
    if (size(candidate) < size(current)) current = candidate;
  }
}
