import type { ToolAnnotations, ToolDefinition } from './catalog';
import type { JsonSchema } from './jsonSchema';

/**
 * Tools of several actions: fields that declare the same `mcp.name`, each with its `mcp.action`
 * (e.g. `transition_change` with submit, start_implementation, complete, fail, roll_back, cancel),
 * are offered as one tool whose required `action` argument picks the field. Every action keeps its
 * own GraphQL document, arguments, scopes and confirmation; the tool lists the union of the
 * arguments and the most cautious hints of its actions. One tool instead of six keeps the catalog
 * an agent carries small (tool choice degrades as the list grows).
 */

/** The argument that names the action. */
export const ACTION_ARG = 'action';

/** What one action runs: its field's document, and what a call naming it is checked against. */
export interface ToolAction {
  document: string;
  fieldName: string;
  wrapKey: string | null;
  authScopes: unknown;
  /** The action's own arguments (with `action`), against which a call naming it is validated. */
  inputSchema: JsonSchema;
}

/** A field's tool, and the action it is of its shared tool (if any). */
export interface ActionTool {
  tool: ToolDefinition;
  action?: string;
}

const json = (v: unknown) => JSON.stringify(v);

/** A property as every action that has it describes it: one text, or one per action. */
function mergeProperty(name: string, entries: [string, JsonSchema][], where: string): JsonSchema {
  const first = entries[0]?.[1] as JsonSchema;
  const isObject = entries.length > 1 && entries.every(([, s]) => s.type === 'object' && s.properties);
  const merged = isObject ? mergeObject(name, entries, where) : mergeLeaf(name, entries, first, where);
  const texts = new Set(entries.map(([, s]) => s.description));
  // An input object's forms are what the tool description says of each action: only what some
  // actions alone require is added (mergeObject's note).
  const text = isObject
    ? undefined
    : texts.size > 1
      ? entries.map(([action, s]) => `${action}: ${s.description ?? ''}`).join(' ')
      : first.description;
  // What only some actions require (mergeObject's note) follows the text.
  const description = [text, merged.description].filter(Boolean).join(' ');
  return { ...merged, ...(description ? { description } : {}) };
}

/** One argument's schema, the same in every action; a default only some give is left out. */
function mergeLeaf(
  name: string,
  entries: [string, JsonSchema][],
  first: JsonSchema,
  where: string,
): JsonSchema {
  const shape = ({ description: _d, default: _v, ...rest }: JsonSchema) => json(rest);
  if (entries.some(([, s]) => shape(s) !== shape(first))) {
    throw new Error(`${where}: the actions give argument ${name} different types`);
  }
  const { description: _d, default: value, ...leaf } = first;
  const same = entries.every(([, s]) => json(s.default) === json(value));
  return same && value !== undefined ? { ...leaf, default: value } : leaf;
}

/**
 * An input object several actions take in different forms (e.g. a create that needs every field
 * and an update that takes any of them): the union of its fields, each merged alike, required
 * where every action requires it; what only some actions require is said once on the object.
 * A call is still checked against its own action's form (ToolAction.inputSchema).
 */
function mergeObject(name: string, entries: [string, JsonSchema][], where: string): JsonSchema {
  const [[, head]] = entries as [[string, JsonSchema]];
  const { description: _d, properties: _p, required: _r, ...rest } = head;
  const fields = [...new Set(entries.flatMap(([, s]) => Object.keys(s.properties ?? {})))];
  const properties: Record<string, JsonSchema> = {};
  for (const field of fields) {
    const having = entries
      .filter(([, s]) => s.properties?.[field])
      .map(([a, s]) => [a, s.properties?.[field]] as [string, JsonSchema]);
    properties[field] = mergeProperty(`${name}.${field}`, having, where);
  }
  const requiredBy = (field: string) => entries.filter(([, s]) => s.required?.includes(field));
  const required = fields.filter((f) => requiredBy(f).length === entries.length);
  const notes = entries
    .map(([action, s]) => [action, (s.required ?? []).filter((f) => !required.includes(f))] as const)
    .filter(([, own]) => own.length)
    .map(([action, own]) => {
      const rest = fields.filter((f) => !required.includes(f) && !own.includes(f));
      return rest.length < own.length
        ? `${action} requires all but ${rest.join(', ')}.`
        : `${action} requires ${own.join(', ')}.`;
    });
  return {
    ...rest,
    properties,
    ...(required.length ? { required } : {}),
    ...(notes.length ? { description: notes.join(' ') } : {}),
  };
}

/** The union of the actions' arguments, `action` first; one required by some actions says which. */
function listedInput(actions: [string, JsonSchema][], where: string): JsonSchema {
  const names = [...new Set(actions.flatMap(([, s]) => Object.keys(s.properties ?? {})))];
  const properties: Record<string, JsonSchema> = {
    [ACTION_ARG]: {
      type: 'string',
      enum: actions.map(([a]) => a),
      description: 'Which move (see the description).',
    },
  };
  const required = [ACTION_ARG];
  for (const name of names) {
    const having = actions.filter(([, s]) => s.properties?.[name]);
    const schema = mergeProperty(
      name,
      having.map(([a, s]) => [a, s.properties?.[name] as JsonSchema]),
      where,
    );
    const requiring = actions.filter(([, s]) => s.required?.includes(name)).map(([a]) => a);
    if (requiring.length === actions.length) required.push(name);
    else if (requiring.length) {
      schema.description = `${schema.description ?? ''} Required for ${requiring.join(', ')}.`.trim();
    }
    properties[name] = schema;
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/** The union of the results: a property every action returns is required. */
function listedOutput(schemas: JsonSchema[], where: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const $defs: Record<string, JsonSchema> = {};
  for (const s of schemas) {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      if (properties[k] && json(properties[k]) !== json(v))
        throw new Error(`${where}: results differ on ${k}`);
      properties[k] = v;
    }
    for (const [k, v] of Object.entries(s.$defs ?? {})) {
      if ($defs[k] && json($defs[k]) !== json(v)) throw new Error(`${where}: results differ on $defs.${k}`);
      $defs[k] = v;
    }
  }
  const required = Object.keys(properties).filter((k) => schemas.every((s) => s.required?.includes(k)));
  return {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    ...(Object.keys($defs).length ? { $defs } : {}),
  };
}

/** Any action's scopes admit the caller: one flat map of scopes (the plugin's "any of" form). */
function anyScopes(scopes: unknown[], where: string): Record<string, unknown> | undefined {
  if (scopes.some((s) => s === undefined)) return undefined;
  const merged: Record<string, unknown> = {};
  for (const s of scopes as Record<string, unknown>[]) {
    for (const [k, v] of Object.entries(s)) {
      if (k === '$any') Object.assign(merged, v as Record<string, unknown>);
      else if (k === '$all') throw new Error(`${where}: an action with $all scopes cannot share a tool`);
      else merged[k] = v;
    }
  }
  return merged;
}

/** The most cautious hints of the actions. */
const cautious = (all: ToolAnnotations[]): ToolAnnotations => ({
  readOnlyHint: false,
  destructiveHint: all.some((a) => a.destructiveHint !== false),
  idempotentHint: all.every((a) => a.idempotentHint === true),
  openWorldHint: all.some((a) => a.openWorldHint),
});

/** One tool of the actions of `parts` (all named alike). */
function mergeActions(parts: Required<ActionTool>[]): ToolDefinition {
  const [head] = parts as [Required<ActionTool>];
  const where = `MCP tool ${head.tool.name}`;
  for (const { tool } of parts) {
    if (tool.description !== head.tool.description || tool.toolset !== head.tool.toolset || tool._meta) {
      throw new Error(`${where}: its actions need one description and toolset, and no App`);
    }
  }
  if (new Set(parts.map((p) => p.action)).size !== parts.length) throw new Error(`${where}: an action twice`);
  const inputs = parts.map((p) => [p.action, p.tool.inputSchema] as [string, JsonSchema]);
  const inputSchema = listedInput(inputs, where);
  const actions: Record<string, ToolAction> = {};
  for (const { tool, action } of parts) {
    const own = tool.inputSchema;
    actions[action] = {
      document: tool.document,
      fieldName: tool.fieldName,
      wrapKey: tool.wrapKey,
      authScopes: tool.authScopes,
      inputSchema: {
        ...own,
        properties: { [ACTION_ARG]: { type: 'string', enum: [action] }, ...own.properties },
        required: [ACTION_ARG, ...(own.required ?? [])],
      },
    };
  }
  return {
    ...head.tool,
    inputSchema,
    outputSchema: listedOutput(
      parts.map((p) => p.tool.outputSchema),
      where,
    ),
    annotations: cautious(parts.map((p) => p.tool.annotations)),
    document: parts.map((p) => p.tool.document).join('\n'),
    fieldName: '',
    wrapKey: null,
    authScopes: anyScopes(
      parts.map((p) => p.tool.authScopes),
      where,
    ),
    reportsProgress: false,
    actions,
  };
}

/** The catalog's tools with each group of actions merged into one tool, in the place of its first action. */
export function withActions(built: ActionTool[]): ToolDefinition[] {
  const groups = new Map<string, Required<ActionTool>[]>();
  for (const part of built) {
    if (part.action === undefined) continue;
    groups.set(part.tool.name, [...(groups.get(part.tool.name) ?? []), part as Required<ActionTool>]);
  }
  const tools: ToolDefinition[] = [];
  for (const part of built) {
    const group = groups.get(part.tool.name);
    if (!group) tools.push(part.tool);
    else if (part === group[0]) tools.push(mergeActions(group));
    else if (!group.includes(part as Required<ActionTool>)) {
      throw new Error(`MCP tool ${part.tool.name}: a field without an action shares its name`);
    }
  }
  return tools;
}

/** The action a call names, for a tool of several; undefined for a plain tool or an unknown action. */
export function actionOf(tool: ToolDefinition, args: Record<string, unknown>): ToolAction | undefined {
  const name = args[ACTION_ARG];
  return tool.actions && typeof name === 'string' && Object.hasOwn(tool.actions, name)
    ? tool.actions[name]
    : undefined;
}
