import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { gqlOk } from '../helpers/changes';
import { captured, createEndpoint, deliveries, until, upstream } from '../webhooks/helpers';
import {
  createIntegration,
  freshCast,
  genericBody,
  githubDeployment,
  sendGeneric,
  sendGitHub,
} from './helpers';

/**
 * A blocked deployment is announced: the outgoing `deployment.blocked` event reaches a subscribed
 * endpoint for both shapes (GitHub's and the generic one), signed as Standard Webhooks says,
 * verified here with the standardwebhooks package.
 */

const CREATE_FREEZE = `mutation($name: String!, $startsAt: DateTime!, $endsAt: DateTime!) {
  createFreezeWindow(name: $name, startsAt: $startsAt, endsAt: $endsAt) { id } }`;

describe('deployment.blocked', () => {
  it('is delivered, signed, for a blocked GitHub deployment and a blocked generic one', async () => {
    const c = await freshCast();
    const key = crypto.randomUUID();
    const { secret, endpoint } = await createEndpoint(c.admin, upstream(`/capture/${key}/ok`), [
      'deployment.blocked',
    ]);
    const github = await createIntegration(c, 'GITHUB');
    const generic = await createIntegration(c, 'GENERIC');
    const now = Date.now();
    await gqlOk(
      CREATE_FREEZE,
      {
        name: 'Quarter close',
        startsAt: new Date(now - 3_600_000).toISOString(),
        endsAt: new Date(now + 86_400_000).toISOString(),
      },
      c.manager,
    );

    const fromGithub = await sendGitHub(github, 'deployment', githubDeployment());
    expect(fromGithub.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_FREEZE_WINDOW' });
    const fromGeneric = await sendGeneric(generic, genericBody());
    expect(fromGeneric.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_FREEZE_WINDOW' });

    const done = await until(
      () => deliveries(c.admin, endpoint.id),
      (d) => d.length === 2 && d.every((x) => x.status === 'SUCCEEDED'),
    );
    expect(done.map((d) => d.eventType)).toEqual(['deployment.blocked', 'deployment.blocked']);
    const requests = await captured(key);
    expect(requests).toHaveLength(2);
    const events = requests.map(
      (r) =>
        new Webhook(secret).verify(r.body, {
          'webhook-id': r.headers['webhook-id'] as string,
          'webhook-timestamp': r.headers['webhook-timestamp'] as string,
          'webhook-signature': r.headers['webhook-signature'] as string,
        }) as { type: string; data: Record<string, unknown> },
    );
    expect(events.map((e) => e.type)).toEqual(['deployment.blocked', 'deployment.blocked']);
    expect(JSON.stringify(events)).toContain('DEPLOYMENT_FREEZE_WINDOW');
    // A tampered body does not verify: the check above is a real one.
    const [first] = requests;
    expect(() =>
      new Webhook(secret).verify(`${first?.body} `, {
        'webhook-id': first?.headers['webhook-id'] as string,
        'webhook-timestamp': first?.headers['webhook-timestamp'] as string,
        'webhook-signature': first?.headers['webhook-signature'] as string,
      }),
    ).toThrow();
  });
});
