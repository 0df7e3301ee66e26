import type { GraphQLOutputType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { type JsonSchema, shareDefinitions } from '../../src/mcp/jsonSchema';
import { compactSelection } from '../../src/mcp/selection';
import { schema } from '../../src/schema';

/** How the generator makes a mutation tool's result compact, and its schema share repeated shapes. */

const type = (name: string) => schema.getType(name) as GraphQLOutputType;

describe('compactSelection', () => {
  it('gives an object with a summary its summary, then what the tool set', () => {
    expect(compactSelection(type('ChangeRequest'))).toBe('id status version allowedTransitions');
    expect(compactSelection(type('ChangeRequest'), ['reviewDueAt'])).toBe(
      'id status version allowedTransitions reviewDueAt',
    );
  });

  it('gives a payload its own fields and each object in it summarised, changes reaching into it', () => {
    const selection = compactSelection(type('RiskAssessmentResult'), ['change.riskLevel']);
    expect(selection).toBe(
      'change { id status version allowedTransitions riskLevel } score level factors { key label contribution } assessedAt',
    );
    // An object with a summary inside a payload gives it: the vote's id and decision.
    expect(compactSelection(type('ApprovalResult'))).toContain('approval { id decision }');
    // One without gives its leaf fields only.
    expect(compactSelection(type('ScheduleResult'))).toContain(
      'conflicts { changeId services plannedStart plannedEnd }',
    );
  });

  it('refuses a change that names no field, or an object where a leaf belongs', () => {
    expect(() => compactSelection(type('ChangeRequest'), ['noSuchField'])).toThrow(
      /no selectable field noSuchField/,
    );
    expect(() => compactSelection(type('ChangeRequest'), ['requester'])).toThrow(/must be a leaf field/);
    expect(() => compactSelection(type('ApprovalResult'), ['change.nope'])).toThrow(
      /no selectable field nope/,
    );
  });
});

describe('shareDefinitions', () => {
  const STATUS: JsonSchema = { type: 'string', enum: ['A_LONG_STATE', 'ANOTHER_LONG_STATE', 'A_THIRD_ONE'] };
  const names = new Map([[JSON.stringify(STATUS), 'Status']]);

  it('defines a repeated shape once, with $ref where it was (anyOf with null where nullable)', () => {
    const shared = shareDefinitions(
      {
        type: 'object',
        properties: {
          status: STATUS,
          next: { type: 'array', items: STATUS },
          previous: { type: ['string', 'null'], enum: [...(STATUS.enum ?? []), null] },
        },
      },
      names,
    );
    expect(shared).toEqual({
      type: 'object',
      properties: {
        status: { $ref: '#/$defs/Status' },
        next: { type: 'array', items: { $ref: '#/$defs/Status' } },
        previous: { anyOf: [{ $ref: '#/$defs/Status' }, { type: 'null' }] },
      },
      $defs: { Status: STATUS },
    });
  });

  it('leaves a shape used once inline', () => {
    const once: JsonSchema = { type: 'object', properties: { status: STATUS } };
    expect(shareDefinitions(once, names)).toEqual(once);
  });
});
