import SchemaBuilder, {
  BasePlugin,
  type FieldNullability,
  type InputFieldMap,
  type PothosOutputFieldConfig,
  PothosSchemaError,
  type SchemaTypes,
  type ShapeFromTypeParam,
  type TypeParam,
} from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import type { IdempotencyClaimPort } from '../../usecases/context';

/**
 * A Mutation whose answer carries a secret shown once (an API key's value). Such an answer is
 * never stored for an idempotent replay: a retry with the same Idempotency-Key is refused with
 * IDEMPOTENCY_SECRET_NOT_REPLAYABLE and the id of what was created (see src/http/idempotency.ts).
 */
export interface SecretResultOptions<ResolveReturn = unknown> {
  /** The id of what the mutation created, from its result: the one thing a refused retry is told. */
  createdId: (result: ResolveReturn) => string;
}

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      secretResult: PothosSecretResultPlugin<Types>;
    }
    interface FieldOptions<
      Types extends SchemaTypes,
      ParentShape,
      Type extends TypeParam<Types>,
      Nullable extends FieldNullability<Type>,
      Args extends InputFieldMap,
      ResolveShape,
      ResolveReturnShape,
    > {
      returnsSecret?: SecretResultOptions<ShapeFromTypeParam<Types, Type, Nullable>>;
    }
  }
}

/** What the field's description says about replays, so people and agents read the rule too. */
export const SECRET_RESULT_NOTE =
  'Its answer holds a secret shown only once: it is never stored, so a retry with the same idempotency key is refused with IDEMPOTENCY_SECRET_NOT_REPLAYABLE and the created id.';

/**
 * `returnsSecret` on a Mutation field: copied into the field's extensions (`returnsSecret: true`),
 * noted in its description, and its resolver tells the request's idempotency claim, when there is
 * one, what it created, so the middleware stores a refusal marker instead of the answer.
 */
export class PothosSecretResultPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const options = (fieldConfig.pothosOptions as { returnsSecret?: SecretResultOptions }).returnsSecret;
    if (!options) return fieldConfig;
    if (fieldConfig.parentType !== 'Mutation') {
      throw new PothosSchemaError(
        `${fieldConfig.parentType}.${fieldConfig.name}: only Mutation fields can declare returnsSecret`,
      );
    }
    const description = fieldConfig.description
      ? `${fieldConfig.description} ${SECRET_RESULT_NOTE}`
      : SECRET_RESULT_NOTE;
    return { ...fieldConfig, description, extensions: { ...fieldConfig.extensions, returnsSecret: true } };
  }

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const options = (fieldConfig.pothosOptions as { returnsSecret?: SecretResultOptions }).returnsSecret;
    if (!options) return resolver;
    const field = fieldConfig.name;
    return async (parent, args, context, info) => {
      const result = await resolver(parent, args, context, info);
      const claim = (context as { idempotency?: IdempotencyClaimPort | null }).idempotency;
      if (claim) claim.secretResult = { field, id: options.createdId(result) };
      return result;
    };
  }
}

SchemaBuilder.registerPlugin('secretResult', PothosSecretResultPlugin);

export default 'secretResult' as const;
