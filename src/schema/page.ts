import type { FieldMap, ObjectRef } from '@pothos/core';
import { PAGE_SIZE, type Page, type PageSize } from '../domain/pagination';
import { builder } from './builder';

type Types = typeof builder.$inferSchemaTypes;

const PageInfoRef = builder.objectRef<Page<unknown>>('PageInfo').implement({
  description: 'Where this page ends and whether another follows.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description: 'Pass as `after` for the next page.',
    }),
  }),
});

/** A cursor page type `{ nodes, pageInfo }`, with optional extra fields. */
export function definePage<T, P extends Page<T>>(
  name: string,
  node: ObjectRef<Types, T>,
  extra?: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, P>) => FieldMap,
) {
  return builder.objectRef<P>(name).implement({
    description: `A page of ${node.name} results.`,
    fields: (t) => ({
      nodes: t.field({ type: [node], resolve: (p) => p.nodes }),
      pageInfo: t.field({ type: PageInfoRef, resolve: (p) => p }),
      ...(extra ? extra(t) : {}),
    }),
  });
}

/** `first` and `after` of a cursor page field; the use case reads them with paginate(). */
export const pageArgs = (
  t: Pick<PothosSchemaTypes.RootFieldBuilder<Types, unknown>, 'arg'>,
  size: PageSize = PAGE_SIZE,
) => ({
  first: t.arg.int({
    required: false,
    defaultValue: size.default,
    validate: { min: 1, max: size.max },
    description: `Page size (up to ${size.max}).`,
  }),
  after: t.arg.string({ required: false, description: 'endCursor of the previous page.' }),
});
