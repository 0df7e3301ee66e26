import SchemaBuilder, {
  BasePlugin,
  type FieldNullability,
  type InputFieldMap,
  type PothosOutputFieldConfig,
  PothosSchemaError,
  type SchemaTypes,
  type TypeParam,
} from '@pothos/core';

/** How a Query or Mutation field is offered to AI agents as an MCP tool. */
export interface McpToolOptions {
  /** snake_case tool name, unique across the server. */
  name: string;
  /** Human title; defaults to the name in words. */
  title?: string;
  /** Defaults to the field's GraphQL description. */
  description?: string;
  /** Selection set (GraphQL, without the outer braces) returned to the agent; default: generated. */
  selection?: string;
  /** Object nesting depth of the generated selection. @default 2 */
  depth?: number;
}

/**
 * What an agent (and the person approving its calls) is told about a mutation tool, each hint set
 * on purpose: MCP's defaults (destructive, not idempotent, open world) would say the wrong thing
 * about most of our tools. Queries are always read-only, idempotent and closed-world.
 */
export interface McpMutationAnnotations {
  /** It may change or remove what exists, or do what cannot be taken back, rather than only add. */
  destructiveHint: boolean;
  /** A repeat with the same arguments has no further effect (it is refused, or changes nothing). */
  idempotentHint: boolean;
  /** It reaches systems outside ChangeFlow: a workflow's HTTP steps, directly or through a runbook. */
  openWorldHint: boolean;
  /** Why these hints are right for this tool, for the reviewer of the schema (not sent to agents). */
  why: string;
}

/** A Mutation field's tool: its annotations are required. */
export interface McpMutationToolOptions extends McpToolOptions {
  annotations: McpMutationAnnotations;
}

/** A Query field offered as an MCP resource template; `{name}` placeholders are the field's arguments. */
export interface McpResourceOptions {
  uriTemplate: string;
  name: string;
  title?: string;
  description?: string;
  selection?: string;
  depth?: number;
}

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      mcp: PothosMcpPlugin<Types>;
    }
    // Only root fields are operations an agent can call: `mcp` on an object field is a type error
    // (FieldOptionsByKind's Query and Mutation kinds), and a resource is always a read.
    interface QueryFieldOptions<
      Types extends SchemaTypes,
      Type extends TypeParam<Types>,
      Nullable extends FieldNullability<Type>,
      Args extends InputFieldMap,
      ResolveReturnShape,
    > {
      mcp?: McpToolOptions;
      mcpResource?: McpResourceOptions;
    }
    interface MutationFieldOptions<
      Types extends SchemaTypes,
      Type extends TypeParam<Types>,
      Nullable extends FieldNullability<Type>,
      Args extends InputFieldMap,
      ResolveReturnShape,
    > {
      mcp?: McpMutationToolOptions;
    }
  }
}

const TOOL_NAME = /^[a-z][a-z0-9_]{2,63}$/;

/**
 * Copies the `mcp` / `mcpResource` field options into the built schema's field extensions,
 * where the MCP generator reads them: the schema knows MCP only as a field option.
 */
export class PothosMcpPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const options = fieldConfig.pothosOptions as { mcp?: McpToolOptions; mcpResource?: McpResourceOptions };
    if (!options.mcp && !options.mcpResource) return fieldConfig;
    const where = `${fieldConfig.parentType}.${fieldConfig.name}`;
    // The option types already keep these to Query and Mutation fields; this guards untyped callers.
    if (fieldConfig.parentType !== 'Query' && fieldConfig.parentType !== 'Mutation') {
      throw new PothosSchemaError(`${where}: only Query and Mutation fields can be MCP tools or resources`);
    }
    if (options.mcp && !TOOL_NAME.test(options.mcp.name)) {
      throw new PothosSchemaError(`${where}: MCP tool name "${options.mcp.name}" must be snake_case`);
    }
    const annotations = (options.mcp as Partial<McpMutationToolOptions> | undefined)?.annotations;
    if (options.mcp && fieldConfig.parentType === 'Mutation' && !annotations?.why) {
      throw new PothosSchemaError(`${where}: an MCP mutation tool sets and justifies its annotations`);
    }
    if (options.mcp && fieldConfig.parentType === 'Query' && annotations) {
      throw new PothosSchemaError(`${where}: a query tool is read-only; its annotations are not set by hand`);
    }
    if (options.mcpResource && fieldConfig.parentType !== 'Query') {
      throw new PothosSchemaError(`${where}: only Query fields can be MCP resources`);
    }
    return {
      ...fieldConfig,
      extensions: {
        ...fieldConfig.extensions,
        ...(options.mcp ? { mcp: options.mcp } : {}),
        ...(options.mcpResource ? { mcpResource: options.mcpResource } : {}),
      },
    };
  }
}

SchemaBuilder.registerPlugin('mcp', PothosMcpPlugin);

export default 'mcp' as const;
