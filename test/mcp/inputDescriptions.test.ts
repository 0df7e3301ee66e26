import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/mcp/catalog';
import { schema } from '../../src/schema';

// An agent fills in a tool's arguments from their descriptions alone: every input property, at
// any depth (inside `input`, `filter`, list items), says what it is.

type Json = { [key: string]: unknown };

function undescribed(node: unknown, path: string, out: string[]): string[] {
  if (typeof node !== 'object' || node === null) return out;
  const schemaNode = node as Json;
  for (const [name, property] of Object.entries((schemaNode.properties ?? {}) as Record<string, Json>)) {
    const at = `${path}.${name}`;
    if (typeof property.description !== 'string' || property.description.trim() === '') out.push(at);
    undescribed(property, at, out);
  }
  if (schemaNode.items) undescribed(schemaNode.items, `${path}[]`, out);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const branch of (schemaNode[key] ?? []) as unknown[]) undescribed(branch, path, out);
  }
  return out;
}

describe('MCP tool inputs', () => {
  const catalog = buildCatalog(schema);

  it('describe every property of every tool, at every depth', () => {
    const missing = catalog.tools.flatMap((tool) => undescribed(tool.inputSchema, tool.name, []));
    expect(missing).toEqual([]);
  });

  it('the check sees nested properties (it would catch a missing one)', () => {
    const probe = {
      type: 'object',
      properties: {
        input: {
          type: 'object',
          description: 'The thing.',
          properties: {
            items: {
              type: 'array',
              description: 'Some.',
              items: { type: 'object', properties: { name: { type: 'string' } } },
            },
          },
        },
        first: { type: 'integer' },
      },
    };
    expect(undescribed(probe, 'probe', [])).toEqual(['probe.input.items[].name', 'probe.first']);
    // And the check above ran over the real catalog, not an empty one.
    expect(catalog.tools.length).toBeGreaterThanOrEqual(30);
  });
});
