import { describe, expect, it } from 'vitest';
import { token } from './helpers/auth';
import { gql } from './helpers/graphql';

describe('smoke', () => {
  it('creates a change', async () => {
    const t = await token({ roles: ['requester'] });
    const r = await gql(
      `mutation($i: CreateChangeRequestInput!) { createChangeRequest(input: $i) { id status priority requester { id } } }`,
      {
        i: {
          title: 'Upgrade db',
          description: 'x',
          impact: 'HIGH',
          urgency: 'LOW',
          affectedServices: ['db'],
        },
      },
      { token: t },
    );
    console.log(JSON.stringify(r));
    expect(r.status).toBe(200);
  });
});
