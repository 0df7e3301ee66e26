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
