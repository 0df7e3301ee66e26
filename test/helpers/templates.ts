import type { ResultOf } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import {
  CreateChangeFromTemplateDocument,
  type CreateChangeFromTemplateMutation,
  CreateTemplateDocument,
  RetireTemplateDocument,
  TemplateDocument,
  type TemplateFieldsFragment,
  TemplateFieldsFragmentDoc,
  TemplatesDocument,
  UpdateTemplateDocument,
} from '../../operations.generated';
import { gqlOk, inDays } from './changes';
import { fragmentFields } from './graphql';

/** Standard change templates: the fields tests read, and helpers to create them and raise changes. */

/** The template fields tests read (the TemplateFields fragment of templates.graphql). */
export const TEMPLATE_FIELDS = fragmentFields(TemplateFieldsFragmentDoc);

export type Template = TemplateFieldsFragment;

// The operations as text, for tests that send them with arguments of their own; the helpers below
// send the typed documents.
export const CREATE_TEMPLATE = print(CreateTemplateDocument);
export const UPDATE_TEMPLATE = print(UpdateTemplateDocument);
export const RETIRE_TEMPLATE = print(RetireTemplateDocument);
export const TEMPLATES = print(TemplatesDocument);
export const TEMPLATE = print(TemplateDocument);
export const FROM_TEMPLATE = print(CreateChangeFromTemplateDocument);

export type FromTemplateChange = CreateChangeFromTemplateMutation['createChangeFromTemplate'];

/**
 * A LOW-risk certificate rotation on one service with every plan: scores 0 as a STANDARD change.
 * `overrides` is loose on purpose: validation tests send what the schema refuses.
 */
export function templateInput(overrides: Record<string, unknown> = {}) {
  return {
    name: 'TLS certificate rotation',
    titlePattern: 'Rotate TLS cert for {{service}}',
    titleVariables: ['service'],
    description: 'Routine certificate rotation before expiry.',
    affectedServices: ['edge'],
    implementationPlan: 'Issue the certificate, deploy it, reload the proxies.',
    backoutPlan: 'Restore the previous certificate bundle.',
    testPlan: 'Check the expiry date the proxies serve.',
    riskLevel: 'LOW',
    ...overrides,
  };
}

export async function createTemplate(
  tok: string,
  overrides: Record<string, unknown> = {},
): Promise<Template> {
  // The input is loose (see templateInput), so the document's variables type cannot check it.
  const input = templateInput(overrides);
  const data = await gqlOk<ResultOf<typeof CreateTemplateDocument>>(CREATE_TEMPLATE, { input }, tok);
  return data.createStandardChangeTemplate;
}

export const windowIn = (days: number) => ({ plannedStart: inDays(days, 2), plannedEnd: inDays(days, 3) });

export async function fromTemplate(
  tok: string,
  templateId: string,
  variables: Record<string, string> = { service: 'checkout' },
  days = 3,
): Promise<FromTemplateChange> {
  return (
    await gqlOk(
      CreateChangeFromTemplateDocument,
      {
        templateId,
        input: {
          titleVariables: Object.entries(variables).map(([name, value]) => ({ name, value })),
          ...windowIn(days),
        },
      },
      tok,
    )
  ).createChangeFromTemplate;
}
