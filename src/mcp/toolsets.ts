import type { McpToolset } from '../schema/plugins/mcp';
import type { ToolDefinition } from './catalog';

/**
 * Toolsets: the catalog cut into groups an agent can ask for, so that it carries only the tools
 * its task needs (tool choice degrades and clients start dropping tools as the list grows). A
 * request chooses them statelessly, by path (`/mcp/workflows`, `/mcp/changes+admin`) or header
 * (`X-ChangeFlow-Toolsets: changes, workflows`); without either it gets DEFAULT_TOOLSET, which
 * holds the eight original tools and stays under 15 for every role. `all` is everything the
 * caller's roles allow.
 */
export const TOOLSETS: Readonly<Record<McpToolset, string>> = {
  changes:
    'Raise, assess, review and decide changes, move them through their lifecycle, schedule them, emergencies, and the headline reports (the default)',
  delivery:
    'Correct changes: edit a draft; raise standard changes from templates; the freeze calendar and services',
  workflows: 'Automation: workflow definitions, executions, secrets (names only) and egress',
  admin: 'Governance: the audit trail and its hash chain, and declaring a change freeze',
};

/** A tool's toolset is its field's `mcp.toolset` option, in the schema. */
export type Toolset = McpToolset;

export const DEFAULT_TOOLSET: Toolset = 'changes';

/** What one request offers: the toolsets (null: all of them) and whether only reads. */
export interface ToolSelection {
  toolsets: ReadonlySet<Toolset> | null;
  readOnly: boolean;
}

const DEFAULT_SELECTION: ToolSelection = { toolsets: new Set([DEFAULT_TOOLSET]), readOnly: false };

/** The word in a path or header that asks for read-only tools. */
const READ_ONLY_WORD = 'readonly';

const isToolset = (word: string): word is Toolset => Object.hasOwn(TOOLSETS, word);

/**
 * The selection a request asks for: the words after `/mcp/` joined by `+` (toolset names, `all`,
 * `readonly`), and the `X-ChangeFlow-Toolsets` (comma-separated) and `X-ChangeFlow-Read-Only`
 * headers. Path and header toolsets add up; either can ask for read-only. An unknown word is an
 * error naming the ones there are.
 */
export function parseSelection(
  pathWords: string | null,
  headers: Headers,
): { selection: ToolSelection } | { error: string; code: 'NOT_FOUND' | 'BAD_REQUEST' } {
  const fromPath = pathWords ? pathWords.split('+') : [];
  const fromHeader = (headers.get('x-changeflow-toolsets') ?? '')
    .split(',')
    .map((w) => w.trim().toLowerCase());
  const readOnlyHeader = headers.get('x-changeflow-read-only')?.trim().toLowerCase() ?? null;
  if (readOnlyHeader !== null && !['true', 'false', '1', '0'].includes(readOnlyHeader)) {
    return {
      code: 'BAD_REQUEST',
      error: `X-ChangeFlow-Read-Only must be true or false, got ${JSON.stringify(readOnlyHeader)}`,
    };
  }
  let readOnly = readOnlyHeader === 'true' || readOnlyHeader === '1';
  let all = false;
  const sets = new Set<Toolset>();
  for (const [words, code] of [
    [fromPath, 'NOT_FOUND'],
    [fromHeader.filter(Boolean), 'BAD_REQUEST'],
  ] as const) {
    for (const word of words) {
      if (word === READ_ONLY_WORD) readOnly = true;
      else if (word === 'all') all = true;
      else if (isToolset(word)) sets.add(word);
      else {
        const known = `${Object.keys(TOOLSETS).join(', ')}, all, and ${READ_ONLY_WORD}`;
        return { code, error: `Unknown toolset ${JSON.stringify(word)}; there are ${known}` };
      }
    }
  }
  const toolsets = all ? null : sets.size ? sets : DEFAULT_SELECTION.toolsets;
  return { selection: { toolsets, readOnly } };
}

/** Whether a request with this selection offers the tool. */
export function offers(selection: ToolSelection, tool: ToolDefinition): boolean {
  if (selection.readOnly && !tool.annotations.readOnlyHint) return false;
  if (!selection.toolsets) return true;
  return selection.toolsets.has(tool.toolset);
}

/** Why a tool the request does not offer was refused, and where to find it. */
export function notOfferedMessage(selection: ToolSelection, tool: ToolDefinition): string {
  if (selection.readOnly && !tool.annotations.readOnlyHint) {
    return `${tool.name} changes data, and this connection is read-only`;
  }
  const set = tool.toolset;
  const chosen = selection.toolsets ? [...selection.toolsets].join('+') : 'all';
  return `${tool.name} is in the ${set} toolset, not in this connection's (${chosen}); connect to /mcp/${set} or /mcp/all`;
}
