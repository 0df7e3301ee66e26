import SchemaBuilder, {
  BasePlugin,
  type FieldNullability,
  type InputFieldMap,
  type PothosOutputFieldConfig,
  PothosSchemaError,
  type PothosTypeConfig,
  type SchemaTypes,
  type TypeParam,
} from '@pothos/core';
import type { Scope } from '../../domain/principal';

/** The groups of tools an agent connects to (src/mcp/toolsets.ts says what each is for). */
export const MCP_TOOLSETS = ['changes', 'delivery', 'workflows', 'admin'] as const;
export type McpToolset = (typeof MCP_TOOLSETS)[number];

/** How a Query or Mutation field is offered to AI agents as an MCP tool. */
export interface McpToolOptions {
  /** snake_case tool name, unique across the server. */
  name: string;
  /** The one toolset the tool belongs to; `changes` is the default connection's. */
  toolset: McpToolset;
  /**
   * Sends `notifications/progress` while it waits, to a caller that passes a `progressToken`
   * (src/mcp/progress.ts; only a tool that waits on an execution can).
   */
  reportsProgress?: boolean;
  /** Human title; defaults to the name in words. */
  title?: string;
  /** Defaults to the field's GraphQL description. */
  description?: string;
  /** Selection set (GraphQL, without the outer braces) returned to the agent; default: generated. */
  selection?: string;
  /** Object nesting depth of the generated selection of a query tool. @default 2 */
  depth?: number;
  /**
   * The MCP App (a `ui://` resource of src/mcp/apps.ts) that hosts supporting MCP Apps show with
   * this tool's result; declared in the tool's `_meta.ui.resourceUri`.
   */
  ui?: `ui://${string}`;
  /**
   * Offered to (and callable through MCP by) callers of any of these scopes only, though the field
   * admits more: a tool for the parties to an act (review_change is for those who vote on a change
   * and those who raise them). Every agent's tools/list pays for every tool it is offered; the
   * catalog refuses scopes that reach a role the field does not admit.
   */
  offeredTo?: readonly Scope[];
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

/**
 * A Mutation field's tool: its annotations are required. Its result is compact unless it has a
 * `selection`: the summary of the object it returns (see McpObjectOptions) and the fields named in
 * `changes`; a result type without a summary (a payload) gives its own leaf fields and each nested
 * object compacted the same way. The agent reads the whole object with the query tool.
 */
export interface McpMutationToolOptions extends Omit<McpToolOptions, 'depth'> {
  annotations: McpMutationAnnotations;
  /**
   * What the tool itself sets beyond the summary, as field paths of its result (`reviewDueAt`,
   * `change.riskLevel`): the effects an agent could not know from its own arguments.
   */
  changes?: string[];
  /**
   * Several fields share one tool (same `name`, `description` and `toolset`), each as the action
   * the tool's required `action` argument names (src/mcp/actions.ts): moves whose arguments and
   * hints agree, offered as one tool instead of one each.
   */
  action?: string;
}

/** How an object type appears in compact (mutation tool) results. */
export interface McpObjectOptions {
  /** The leaf fields that identify the object and its state, e.g. `id status version allowedTransitions`. */
  summary: string[];
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
    interface ObjectTypeOptions<Types extends SchemaTypes = SchemaTypes, Shape = unknown> {
      mcp?: McpObjectOptions;
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
  override onTypeConfig(typeConfig: PothosTypeConfig): PothosTypeConfig {
    const options = (typeConfig.pothosOptions as { mcp?: McpObjectOptions }).mcp;
    if (!options) return typeConfig;
    if (typeConfig.kind !== 'Object') {
      throw new PothosSchemaError(`${typeConfig.name}: only object types have an MCP summary`);
    }
    // The fields are not known yet; the catalog generator checks that each one exists and is a leaf.
    return { ...typeConfig, extensions: { ...typeConfig.extensions, mcpSummary: options.summary } };
  }

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
    if (options.mcp && !(MCP_TOOLSETS as readonly string[]).includes(options.mcp.toolset)) {
      throw new PothosSchemaError(
        `${where}: MCP tool ${options.mcp.name} needs a toolset (${MCP_TOOLSETS.join(', ')})`,
      );
    }
    if (options.mcp?.ui !== undefined && !/^ui:\/\/[a-z0-9-]+\/[a-z0-9-]+$/.test(options.mcp.ui)) {
      throw new PothosSchemaError(
        `${where}: MCP App URI "${options.mcp.ui}" must look like ui://server/name`,
      );
    }
    const annotations = (options.mcp as Partial<McpMutationToolOptions> | undefined)?.annotations;
    if (options.mcp && fieldConfig.parentType === 'Mutation' && !annotations?.why) {
      throw new PothosSchemaError(`${where}: an MCP mutation tool sets and justifies its annotations`);
    }
    if (options.mcp && fieldConfig.parentType === 'Query' && annotations) {
      throw new PothosSchemaError(`${where}: a query tool is read-only; its annotations are not set by hand`);
    }
    if (options.mcp && fieldConfig.parentType === 'Mutation' && 'depth' in options.mcp) {
      throw new PothosSchemaError(
        `${where}: a mutation tool's result is compact (set \`changes\`, not depth)`,
      );
    }
    const action = (options.mcp as Partial<McpMutationToolOptions> | undefined)?.action;
    if (action !== undefined && !/^[a-z][a-z_]{1,31}$/.test(action)) {
      throw new PothosSchemaError(`${where}: MCP action "${action}" must be snake_case`);
    }
    if (options.mcp && fieldConfig.parentType === 'Query' && 'changes' in options.mcp) {
      throw new PothosSchemaError(`${where}: \`changes\` is for mutation tools`);
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
