import {
  CLIENT_CAPABILITIES_META_KEY,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { JsonSchema } from './jsonSchema';
import type { ExecuteOperation } from './server';

/**
 * Tools whose effect cannot be undone ask the person behind the agent first. A client of
 * 2026-07-28 that can show a form (the `elicitation` capability) is asked through
 * `input_required`, and the server waits for that answer whatever the arguments say; any other
 * client must pass `confirm: true`, an MCP-only argument (not a GraphQL one), having asked its user.
 */
export const CONFIRM_ARG = 'confirm';

const CONFIRM_SCHEMA: JsonSchema = {
  type: 'boolean',
  description: 'true once your user agreed to this irreversible action.',
};

type Args = Record<string, unknown>;

/** What a call would do, said to the person asked; null when this call needs no confirmation. */
type Describe = (args: Args, execute: ExecuteOperation) => Promise<string | null>;

const always =
  (what: (args: Args) => string): Describe =>
  async (args) =>
    what(args);

/** The steps of a workflow that send something other than GET or HEAD to an outside system. */
async function writesElsewhere(args: Args, execute: ExecuteOperation): Promise<string | null> {
  const id = String(args.workflowId ?? '');
  const result = await execute(
    'query ConfirmWorkflow($id: ID!) { workflow(id: $id) { name steps } }',
    { id },
    'execute_workflow',
  );
  const workflow = result.data?.workflow as
    | { name: string; steps: Record<string, unknown>[] }
    | null
    | undefined;
  // An unknown workflow is for execute_workflow itself to refuse, with its own error.
  if (!workflow) return null;
  const writes = workflow.steps.filter(
    (s) => s.type === 'http-request' && !['GET', 'HEAD'].includes(String(s.method ?? 'GET')),
  );
  if (writes.length === 0) return null;
  const list = writes.map((s) => `${String(s.method)} ${String(s.url)} (step ${String(s.id)})`).join(', ');
  return `Run workflow "${workflow.name}" (${id}), which sends ${list}`;
}

/** The irreversible tools (`tool:action` for one action of a tool of several) and what each would do. */
const IRREVERSIBLE: Readonly<Record<string, Describe>> = {
  emergency_override: always(
    (a) => `Force change ${String(a.id)} into implementation without CAB approval (emergency override)`,
  ),
  'transition_change:roll_back': always((a) => `Record change ${String(a.id)} as rolled back (final)`),
  'manage_workflow:delete': always((a) => `Delete workflow ${String(a.id)}`),
  execute_workflow: writesElsewhere,
};

/** Whether a tool (any of its actions) may ask for confirmation, and so takes `confirm`. */
const asksConfirmation = (toolName: string): boolean =>
  Object.keys(IRREVERSIBLE).some((key) => key === toolName || key.startsWith(`${toolName}:`));

/** What a call would do that needs confirming, by tool, or by tool and action. */
const describerOf = (toolName: string, args: Args): Describe | undefined => {
  const action = `${toolName}:${String(args.action)}`;
  if (Object.hasOwn(IRREVERSIBLE, action)) return IRREVERSIBLE[action];
  return Object.hasOwn(IRREVERSIBLE, toolName) ? IRREVERSIBLE[toolName] : undefined;
};

/** A tool's input schema with `confirm` added, for the tools that ask. */
export function withConfirmArg(toolName: string, schema: JsonSchema): JsonSchema {
  if (!asksConfirmation(toolName)) return schema;
  return { ...schema, properties: { ...schema.properties, [CONFIRM_ARG]: CONFIRM_SCHEMA } };
}

/** The form a 2026-07-28 client shows its user. */
const FORM = {
  type: 'object' as const,
  properties: { confirm: { type: 'boolean' as const, title: 'Yes, do it' } },
  required: ['confirm'],
};

export type Gate =
  | { proceed: true }
  | { proceed: false; ask: InputRequiredResult }
  | { proceed: false; refuse: { code: 'CONFIRMATION_REQUIRED' | 'CONFIRMATION_DECLINED'; message: string } };

/**
 * Whether a call may go ahead: no confirmation needed, or given. Otherwise the input request to
 * send (a 2026-07-28 client with elicitation), or the refusal to answer with.
 */
export async function confirmationGate(
  toolName: string,
  args: Args,
  execute: ExecuteOperation,
  ctx: ServerContext,
): Promise<Gate> {
  const describe = describerOf(toolName, args);
  const action = describe ? await describe(args, execute) : null;
  if (!action) return { proceed: true };
  const capabilities = ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY as never] as
    | { elicitation?: unknown }
    | undefined;
  if (capabilities?.elicitation) {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
    if (answer.kind === 'missing') {
      const message = `${action}. This cannot be undone. Go ahead?`;
      return {
        proceed: false,
        ask: inputRequired({
          inputRequests: { confirm: inputRequired.elicit({ message, requestedSchema: FORM }) },
        }),
      };
    }
    const content = answer.kind === 'elicit' && answer.action === 'accept' ? answer.content : undefined;
    if ((content as { confirm?: unknown } | undefined)?.confirm === true) return { proceed: true };
    return {
      proceed: false,
      refuse: { code: 'CONFIRMATION_DECLINED', message: `Not done: the user did not confirm. ${action}.` },
    };
  }
  if (args[CONFIRM_ARG] === true) return { proceed: true };
  return {
    proceed: false,
    refuse: {
      code: 'CONFIRMATION_REQUIRED',
      message: `${action}. This cannot be undone: ask the person you act for, then call ${toolName} again with confirm: true.`,
    },
  };
}
