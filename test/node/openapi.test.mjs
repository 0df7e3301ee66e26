// The OpenAPI document of /api/v1 (openapi.json, written by `npm run codegen` from
// src/http/rest/openapi.ts): committed as generated, valid OpenAPI 3.1 by an independent
// validator, and complete: an operation per route of the table, each with an id, a description,
// the security schemes and the problem+json errors. test/rest/openapi.test.ts checks the served copy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { routeTableOf } from '../../src/http/rest/handler.ts';
import { buildOpenApi } from '../../src/http/rest/openapi.ts';
import { schema } from '../../src/schema/index.ts';

const committed = readFileSync('openapi.json', 'utf8');
const document = JSON.parse(committed);

test('openapi.json is what the schema generates (run `npm run codegen` and commit it)', () => {
  assert.equal(`${JSON.stringify(buildOpenApi(schema), null, 2)}\n`, committed);
});

test('openapi.json is valid OpenAPI 3.1', async () => {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(document));
  assert.equal(validator.version, '3.1');
  assert.deepEqual(result.errors ?? [], []);
  assert.equal(result.valid, true);
});

test('the validator is not a rubber stamp: a broken copy fails', async () => {
  const broken = structuredClone(document);
  broken.paths['/api/v1/changes'].get.responses = 'none';
  const result = await new Validator().validate(broken);
  assert.equal(result.valid, false);
});

test('every route of the table is an operation with an id, a description, security and problem errors', () => {
  const table = routeTableOf(schema);
  const ids = [];
  for (const route of table) {
    const path = `/api/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    const operation = document.paths[path]?.[route.method.toLowerCase()];
    assert.ok(operation, `${route.method} ${path} is missing`);
    assert.equal(operation.operationId, route.name);
    assert.ok(operation.description.length > 10, `${route.name} has no description`);
    for (const status of ['400', '401', '403', '404', '429']) {
      assert.ok(operation.responses[status], `${route.name} lacks ${status}`);
    }
    ids.push(operation.operationId);
  }
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
  // The schema's routes under /api/v1, and the orchestrator's nine (test/rest/orchestratorOpenApi.test.ts).
  const count = Object.values(document.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
  assert.equal(count, table.length + 9);
  assert.deepEqual(Object.keys(document.components.securitySchemes).sort(), ['apiKey', 'bearerAuth']);
  const problem = document.components.responses.E401.content['application/problem+json'];
  assert.equal(problem.schema.$ref, '#/components/schemas/Problem');
  assert.equal(problem.example.code, 'UNAUTHENTICATED');
  assert.equal(problem.example.status, 401);
  assert.ok(
    document.paths['/api/v1/changes'].post.requestBody.content['application/json'].example.input.title,
  );
  assert.equal(document.openapi, '3.1.0');
  assert.ok(!committed.includes('"nullable"'), '3.0 nullable is not used in 3.1');
});
