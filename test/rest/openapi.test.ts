import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import committed from '../../openapi.json?raw';
import { type AppBindings, createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE } from '../helpers/auth';

/** /openapi.json in workerd: the committed document (openapi.json, npm run codegen), where the SDL is. */
describe('/openapi.json', () => {
  it('serves the committed document, built in the Worker from the schema', async () => {
    const response = await exports.default.fetch('http://cf.test/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.text()).toBe(committed);
  });

  it('is not published where introspection is off (production)', async () => {
    const production = {
      ...env,
      ENVIRONMENT: 'production',
      JWT_AUDIENCE: TEST_AUDIENCE,
    } as unknown as AppBindings;
    const response = await createApp(schema).fetch(new Request('http://cf.test/openapi.json'), production);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'INTROSPECTION_DISABLED',
    );
  });
});
