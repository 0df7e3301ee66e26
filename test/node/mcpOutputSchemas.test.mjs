// The output schemas of the committed MCP catalog define shared shapes once (`$defs`) and point at
// them (`$ref`). Both validators the SDK client ships, Ajv (its default on Node) and
// @cfworker/json-schema (on Workers; test/mcp drives every tool through it), must resolve them:
// a result of the schema's shape passes, and a wrong value where a `$ref` points fails. Ajv
// compiles with `new Function`, which workerd forbids, hence a Node test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/client/validators/ajv';
import { CfWorkerJsonSchemaValidator } from '@modelcontextprotocol/client/validators/cf-worker';

const catalog = JSON.parse(readFileSync(new URL('../../mcp-tools.snapshot.json', import.meta.url), 'utf8'));
const VALIDATORS = [new AjvJsonSchemaValidator(), new CfWorkerJsonSchemaValidator()];

const resolve = (root, ref) => root.$defs[ref.replace('#/$defs/', '')];

/** A value of the schema's shape: every property present, one item per array. */
function sample(schema, root) {
  if (schema.$ref) return sample(resolve(root, schema.$ref), root);
  if (schema.enum) return schema.enum.find((v) => v !== null);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'object') {
    return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sample(v, root)]));
  }
  if (type === 'array') return schema.items ? [sample(schema.items, root)] : [];
  if (type === 'string') return schema.format === 'date-time' ? '2026-01-01T00:00:00.000Z' : 'x';
  if (type === 'integer') return 1;
  if (type === 'number') return 1.5;
  if (type === 'boolean') return true;
  return null; // {}: any JSON value (a JSON scalar)
}

/** The sample with the first value that a `$ref` to an enum types replaced by one outside it. */
function broken(schema, value, root) {
  if (schema.$ref && resolve(root, schema.$ref).enum) return { value: 'NOT_A_VALUE_OF_IT', done: true };
  const target = schema.$ref ? resolve(root, schema.$ref) : schema;
  if (target.properties && value && typeof value === 'object') {
    for (const [k, v] of Object.entries(target.properties)) {
      const inner = broken(v, value[k], root);
      if (inner.done) return { value: { ...value, [k]: inner.value }, done: true };
    }
  }
  if (target.items && Array.isArray(value) && value.length) {
    const inner = broken(target.items, value[0], root);
    if (inner.done) return { value: [inner.value, ...value.slice(1)], done: true };
  }
  return { value, done: false };
}

test('every tool’s output schema compiles and accepts a result of its shape, in both SDK validators', () => {
  for (const tool of catalog.tools) {
    const value = sample(tool.outputSchema, tool.outputSchema);
    for (const validator of VALIDATORS) {
      const result = validator.getValidator(tool.outputSchema)(value);
      assert.equal(
        result.valid,
        true,
        `${tool.name} (${validator.constructor.name}): ${result.errorMessage}`,
      );
    }
  }
});

test('a value outside an enum that `$ref` points at is refused by both SDK validators', () => {
  const shared = catalog.tools.filter((t) => JSON.stringify(t.outputSchema).includes('"$ref"'));
  assert.ok(shared.length > 0, 'some output schema shares a shape');
  for (const tool of shared) {
    const { value, done } = broken(
      tool.outputSchema,
      sample(tool.outputSchema, tool.outputSchema),
      tool.outputSchema,
    );
    if (!done) continue; // a shared object shape without an enum in reach of the walk
    for (const validator of VALIDATORS) {
      assert.equal(
        validator.getValidator(tool.outputSchema)(value).valid,
        false,
        `${tool.name} ${validator.constructor.name}`,
      );
    }
  }
  assert.ok(
    shared.some((t) => broken(t.outputSchema, sample(t.outputSchema, t.outputSchema), t.outputSchema).done),
    'at least one enum behind a $ref was tried',
  );
});
