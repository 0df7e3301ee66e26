import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import committed from '../schema.graphql?raw';
import { schema } from '../src/schema';
import { printSDL } from '../src/schema/sdl';

describe('generated artefacts', () => {
  it('schema.graphql matches the Pothos schema (run `npm run codegen` and commit it)', () => {
    expect(printSDL(schema)).toBe(committed);
  });

  it('GET /schema.graphql serves the same SDL without authentication', async () => {
    const res = await exports.default.fetch('http://cf.test/schema.graphql');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toBe(committed);
  });
});
