import {
  type GraphQLResolveInfo,
  getArgumentValues,
  getNamedType,
  isObjectType,
  Kind,
  type SelectionNode,
} from 'graphql';
import type { builder } from './builder';

type Types = typeof builder.$inferSchemaTypes;

/**
 * `first` on a list field that is not a cursor page: the cost limit (src/http/queryLimits.ts)
 * multiplies a list's selection by its `first` (the default when it is left out), so that a
 * nested list is never counted as one item. `max` is refused above (VALIDATION_FAILED).
 */
export const firstArg = (
  t: Pick<PothosSchemaTypes.RootFieldBuilder<Types, unknown>, 'arg'>,
  defaultValue: number,
  max = 100,
) =>
  t.arg.int({
    required: false,
    defaultValue,
    validate: { min: 1, max },
    description: `How many at most (up to ${max}).`,
  });

/** The first `first` items (all of them when first is not given). */
export function firstOf<T>(items: readonly T[], first: number | null | undefined): T[];
export function firstOf<T>(items: readonly T[] | null, first: number | null | undefined): T[] | null;
export function firstOf<T>(items: readonly T[] | null, first: number | null | undefined): T[] | null {
  return items === null ? null : items.slice(0, first ?? undefined);
}

/**
 * The largest `first` the query asks of the list field `name` inside the field being resolved
 * (through aliases, inline fragments and fragment spreads), with the field's default where it is
 * left out; null when the query does not select it. Lets a parent read only as many rows as its
 * list child will show: a resolver that bounds its reads by this still lists what was asked.
 */
export function firstAskedOf(info: GraphQLResolveInfo, name: string): number | null {
  const parent = getNamedType(info.returnType);
  if (!isObjectType(parent)) return null;
  const field = parent.getFields()[name];
  if (!field) return null;
  let largest: number | null = null;
  const seen = new Set<string>();
  const visit = (selections: readonly SelectionNode[]) => {
    for (const s of selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value !== name) continue;
        const { first } = getArgumentValues(field, s, info.variableValues) as { first?: unknown };
        const asked = typeof first === 'number' ? first : 0;
        largest = Math.max(largest ?? 0, asked);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        visit(s.selectionSet.selections);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const fragment = info.fragments[s.name.value];
        if (fragment) visit(fragment.selectionSet.selections);
      }
    }
  };
  for (const node of info.fieldNodes) if (node.selectionSet) visit(node.selectionSet.selections);
  return largest;
}
