// `npm run codegen`'s graphql-codegen outputs, generated in memory from codegen.ts exactly as the CLI
// does, must equal the committed files: a change to the schema or to an operation our clients send
// (test/helpers, bench, tour) shows up here until it is regenerated and committed.
// test/schemaDrift.test.ts checks the SDL inside workerd; the codegen plugins only run on Node.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { generate } from '@graphql-codegen/cli';
import config from '../../codegen.ts';

test('the committed codegen outputs match codegen.ts (run `npm run codegen` and commit them)', async () => {
  const outputs = await generate({ ...config, silent: true }, false);
  assert.deepEqual(outputs.map((o) => o.filename).sort(), Object.keys(config.generates).sort());
  for (const { filename, content } of outputs) {
    assert.equal(content, readFileSync(filename, 'utf8'), `${filename} is stale`);
  }
});
