import { type GraphQLOutputType, getNamedType, isListType, isNonNullType, isObjectType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import { gql, gqlOk } from '../helpers/graphql';

/**
 * Every list of objects takes `first`, so that the cost limit (which multiplies a selection by
 * its `first`) can count how many items a nested list asks for, and no list is unbounded: a
 * workflow's versions were returned all at once and counted as one item.
 */
const TENANT = 'list-first';
let manager: string;

beforeAll(async () => {
  manager = await token({ sub: 'lister', tenant: TENANT, roles: ['change_manager'] });
});

const listOf = (type: GraphQLOutputType) => isListType(isNonNullType(type) ? type.ofType : type);

describe('first on list fields', () => {
  it('is an argument of every list-of-objects field that is not a cursor page’s nodes', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      const isPage = 'pageInfo' in type.getFields();
      for (const field of Object.values(type.getFields())) {
        if (!listOf(field.type) || !isObjectType(getNamedType(field.type))) continue;
        if (isPage && field.name === 'nodes') continue;
        if (!field.args.some((a) => a.name === 'first')) missing.push(`${type.name}.${field.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('returns at most `first` versions, refuses more than 100, and the cost counts them', async () => {
    const created = await gqlOk<{ createWorkflow: { id: string } }>(
      'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }',
      { i: { name: 'versions', steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] } },
      manager,
    );
    const id = created.createWorkflow.id;
    for (const name of ['versions 2', 'versions 3']) {
      await gqlOk(
        'mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }',
        { id, i: { name } },
        manager,
      );
    }
    const VERSIONS = 'query($id: ID!, $n: Int) { workflow(id: $id) { versions(first: $n) { version } } }';
    const two = await gqlOk<{ workflow: { versions: { version: number }[] } }>(
      VERSIONS,
      { id, n: 2 },
      manager,
    );
    expect(two.workflow.versions.map((v) => v.version)).toEqual([3, 2]);
    const all = await gqlOk<{ workflow: { versions: unknown[] } }>(VERSIONS, { id }, manager);
    expect(all.workflow.versions).toHaveLength(3);
    const tooMany = await gql(VERSIONS, { id, n: 101 }, { token: manager });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    // 100 workflows × 100 versions each: counted as 10,000 versions, not 100.
    const wide = await gql(
      '{ workflows(first: 100) { nodes { versions(first: 100) { version steps triggers createdAt } } } }',
      {},
      { token: manager },
    );
    expect(wide.status).toBe(400);
    expect(wide.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'cost' });
  });

  it('limits the approvals of a change the same way', async () => {
    const r = await gql(
      '{ changes(first: 100) { nodes { approvals(first: 100) { id decision comment approver { id displayName email } } } } }',
      {},
      { token: manager },
    );
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'cost' });
  });
});
