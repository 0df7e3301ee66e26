import { Validator } from '@cfworker/json-schema';
import { describe, expect, it } from 'vitest';
import {
  boundToolResult,
  DEFAULT_PAGE_MAX_BYTES,
  jsonBytes,
  MAX_RESULT_BYTES,
  TRUNCATION_META_KEY,
} from '../../src/mcp/bounds';
import { buildCatalog, type ToolDefinition } from '../../src/mcp/catalog';
import { schema } from '../../src/schema';
import { worstCase } from '../helpers/worstCase';

/**
 * Every tool's largest possible result (test/helpers/worstCase.ts) goes through the server's guard
 * as callTool runs it: what an agent receives fits in 20k tokens, a page asked for without paging
 * arguments in 4k, and both still validate against the tool's output schema. A tool without a
 * worst case fails.
 */

const catalog = buildCatalog(schema);

const textBytes = (result: { content: unknown[] }) =>
  jsonBytes(JSON.parse((result.content[0] as { text: string }).text));

const validators = new Map<string, Validator>();
function valid(tool: ToolDefinition, value: unknown) {
  let v = validators.get(tool.name);
  if (!v) {
    v = new Validator(tool.outputSchema as never, '2020-12', false);
    validators.set(tool.name, v);
  }
  const r = v.validate(value);
  return r.valid ? [] : r.errors.slice(0, 3).map((e) => `${e.instanceLocation}: ${e.error}`);
}

describe('MCP tool results are bounded', () => {
  const rows: Record<string, unknown>[] = [];

  /** The guard as callTool runs it, re-asking for a smaller page from the same worst case. */
  const guard = (tool: ToolDefinition, which: 'max' | 'default') => {
    const value = worstCase(tool, which);
    const first = tool.inputSchema.properties?.first?.maximum;
    const args = which === 'max' && first !== undefined ? { first } : {};
    return {
      value,
      result: boundToolResult(tool, value, args, async (n) => {
        const page = worstCase(tool, which, n);
        return { data: { [tool.fieldName]: tool.wrapKey ? page[tool.wrapKey] : page } };
      }),
    };
  };

  it.each(catalog.tools.map((t) => [t.name, t] as const))(
    '%s: what an agent receives is bounded',
    async (_n, tool) => {
      const pages = tool.inputSchema.properties?.first !== undefined;
      const sizes: Record<string, unknown> = { tool: tool.name };
      for (const [which, bound] of [
        ['max', MAX_RESULT_BYTES],
        ['default', pages ? DEFAULT_PAGE_MAX_BYTES : MAX_RESULT_BYTES],
      ] as const) {
        const { value, result: pending } = guard(tool, which);
        // The builder follows the output schema: a wrong worst case would prove nothing.
        expect(valid(tool, value)).toEqual([]);
        const result = await pending;
        expect(result.isError, JSON.stringify(result.content).slice(0, 300)).toBeFalsy();
        expect(textBytes(result)).toBeLessThanOrEqual(bound);
        expect(valid(tool, result.structuredContent)).toEqual([]);
        const cut = jsonBytes(value) > bound;
        expect(Boolean(result._meta?.[TRUNCATION_META_KEY])).toBe(cut);
        if (cut) expect((result.content[1] as { text: string }).text).toMatch(/^Note: /);
        sizes[`${which}Bytes`] = jsonBytes(value);
        sizes[`${which}Sent`] = textBytes(result);
      }
      rows.push(sizes);
    },
  );

  it('measured every tool', () => {
    expect(rows.map((r) => r.tool)).toEqual(catalog.tools.map((t) => t.name));
  });

  it('refuses a tool it has no worst case for', () => {
    const tool = { ...catalog.tools[0], name: 'brand_new_tool' } as ToolDefinition;
    expect(() => worstCase(tool, 'max')).toThrow(/no worst-case builder for brand_new_tool/);
  });

  const listChanges = () => catalog.toolsByName.get('list_changes') as ToolDefinition;
  const page = (n: number, title: string) => ({
    nodes: Array.from({ length: n }, (_, i) => ({
      ...(worstCase(listChanges(), 'default', 1).nodes as Record<string, unknown>[])[0],
      id: `chg_${String(i).padStart(36, '0')}`,
      title,
    })),
    pageInfo: { hasNextPage: true, endCursor: 'c'.repeat(200) },
  });

  it('cuts long text but never ids or cursors, and says so', async () => {
    const value = page(3, 't'.repeat(50_000));
    const result = await boundToolResult(listChanges(), value, { first: 3 });
    const sent = result.structuredContent as ReturnType<typeof page>;
    expect(textBytes(result)).toBeLessThanOrEqual(MAX_RESULT_BYTES);
    expect(sent.nodes.map((n) => n.id)).toEqual(value.nodes.map((n) => n.id));
    expect(sent.pageInfo.endCursor).toBe(value.pageInfo.endCursor);
    expect(sent.nodes[0]?.title).toMatch(/^t+… \[\d+ more characters\]$/);
    expect((result.content[1] as { text: string }).text).toMatch(
      /^Note: the result was cut to fit 20000 tokens/,
    );
    expect(valid(listChanges(), sent)).toEqual([]);
  });

  it('never drops the items of a cursor page: without a smaller page to ask for, RESULT_TOO_LARGE', async () => {
    const result = await boundToolResult(listChanges(), page(2000, 'short'), { first: 2000 });
    expect(result.isError).toBe(true);
    const { error } = JSON.parse((result.content[0] as { text: string }).text);
    expect(error.code).toBe('RESULT_TOO_LARGE');
    expect(error.suggestedFirst).toBeGreaterThan(0);
    expect(error.suggestedFirst).toBeLessThan(2000);
  });

  it('leaves a result within its bound untouched', async () => {
    const value = page(2, 'short');
    const result = await boundToolResult(listChanges(), value, {});
    expect(result.structuredContent).toBe(value);
    expect(result.content).toHaveLength(1);
    expect(result._meta).toBeUndefined();
  });
});
