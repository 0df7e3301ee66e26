import { CHANGE_FIELDS, type Change, gqlOk, inDays } from './changes';

/** Standard change templates: the fields tests read, and helpers to create them and raise changes. */

export const TEMPLATE_FIELDS = `id name titlePattern titleVariables description affectedServices impact urgency
  implementationPlan backoutPlan testPlan riskLevel runbookWorkflowId runbookInputs status version
  createdBy updatedBy retiredAt`;

export interface Template {
  id: string;
  name: string;
  titlePattern: string;
  titleVariables: string[];
  description: string;
  affectedServices: string[];
  impact: string;
  urgency: string;
  riskLevel: string;
  runbookWorkflowId: string | null;
  runbookInputs: Record<string, unknown> | null;
  status: 'ACTIVE' | 'RETIRED';
  version: number;
  createdBy: string;
  updatedBy: string;
  retiredAt: string | null;
}

export const CREATE_TEMPLATE = `mutation($input: CreateStandardChangeTemplateInput!) {
  createStandardChangeTemplate(input: $input) { ${TEMPLATE_FIELDS} } }`;
export const UPDATE_TEMPLATE = `mutation($id: ID!, $input: UpdateStandardChangeTemplateInput!, $expectedVersion: Int) {
  updateStandardChangeTemplate(id: $id, input: $input, expectedVersion: $expectedVersion) { ${TEMPLATE_FIELDS} } }`;
export const RETIRE_TEMPLATE = `mutation($id: ID!, $expectedVersion: Int) {
  retireStandardChangeTemplate(id: $id, expectedVersion: $expectedVersion) { ${TEMPLATE_FIELDS} } }`;
export const TEMPLATES = `query($includeRetired: Boolean) {
  standardChangeTemplates(includeRetired: $includeRetired) { ${TEMPLATE_FIELDS} } }`;
export const TEMPLATE = `query($id: ID!) {
  standardChangeTemplate(id: $id) { ${TEMPLATE_FIELDS} versions { version affectedServices status updatedBy } } }`;
export const FROM_TEMPLATE = `mutation($templateId: ID!, $input: CreateChangeFromTemplateInput!) {
  createChangeFromTemplate(templateId: $templateId, input: $input) {
    ${CHANGE_FIELDS} templateId templateVersion runbookWorkflowId runbookAttachedBy runbookInputs
    implementationPlan description } }`;

export type FromTemplateChange = Change & {
  templateId: string | null;
  templateVersion: number | null;
  runbookWorkflowId: string | null;
  runbookAttachedBy: string | null;
  runbookInputs: Record<string, unknown> | null;
  implementationPlan: string | null;
  description: string;
};

/** A LOW-risk certificate rotation on one service with every plan: scores 0 as a STANDARD change. */
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
  return (
    await gqlOk<{ createStandardChangeTemplate: Template }>(
      CREATE_TEMPLATE,
      { input: templateInput(overrides) },
      tok,
    )
  ).createStandardChangeTemplate;
}

export const windowIn = (days: number) => ({ plannedStart: inDays(days, 2), plannedEnd: inDays(days, 3) });

export async function fromTemplate(
  tok: string,
  templateId: string,
  variables: Record<string, string> = { service: 'checkout' },
  days = 3,
): Promise<FromTemplateChange> {
  return (
    await gqlOk<{ createChangeFromTemplate: FromTemplateChange }>(
      FROM_TEMPLATE,
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
