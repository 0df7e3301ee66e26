/** Prompts that help an agent work the change process; texts, not tools. */
export interface PromptDefinition {
  name: string;
  title: string;
  description: string;
  arguments: { name: string; description: string; required: boolean }[];
}

export const PROMPTS: PromptDefinition[] = [
  {
    name: 'draft_change_request',
    title: 'Draft a change request',
    description: 'Turns a plain description of planned work into a complete change request, ready to create.',
    arguments: [
      { name: 'description', description: 'What is going to be changed, why, and when.', required: true },
    ],
  },
  {
    name: 'prepare_cab_review',
    title: 'Prepare a CAB review',
    description: 'Summarises a change for the Change Advisory Board: risk factors, plans, conflicts, votes.',
    arguments: [
      { name: 'changeId', description: 'The change id, e.g. CHG-20260101-ABC123.', required: true },
    ],
  },
];

export function draftChangeRequestText(description: string): string {
  return [
    'Draft an ITIL change request for the work below, then create it with the `create_change_request` tool.',
    'If it is routine work a standard change template covers (`list_standard_change_templates`), raise it',
    'with `create_standard_change` instead: only the title variables and the window are yours to choose.',
    '',
    'Decide and state:',
    '- a short imperative title (3–200 characters) and a description of what changes and why;',
    '- type: EMERGENCY only to restore service now, else NORMAL (STANDARD comes only from a template);',
    '- impact and urgency (LOW, MEDIUM, HIGH), which give the priority;',
    '- the affected services by name;',
    '- an implementation plan, a backout plan and a test plan: a missing backout or test plan raises the risk',
    '  score and fails PCI DSS 6.4 for services tagged `pci`.',
    'Ask the user for anything you cannot infer instead of inventing it. After creating it, call',
    '`transition_change` with action `submit` only if the user wants it sent to the CAB now.',
    '',
    'The planned work:',
    description,
  ].join('\n');
}

export function cabReviewText(changeId: string): string {
  return [
    `Prepare the CAB review of change ${changeId}, whose current record is attached.`,
    '',
    'Write, in this order:',
    '1. One paragraph: what changes, on which services, in which window.',
    '2. The risk score and level, and each risk factor with its contribution; say which factors the requester',
    '   could remove (a missing backout or test plan, a conflicting window).',
    '3. Whether the implementation, backout and test plans are specific enough to act on.',
    '4. The votes so far and what the CAB policy still requires (LOW 1, MEDIUM 2, HIGH 3, VERY_HIGH 3',
    '   including a change manager); the requester may not vote.',
    '5. A recommendation (approve, approve with conditions, reject) with the reason.',
    'Do not cast a vote yourself unless the user asks you to, through `approve_change` or `reject_change`',
    '(a rejection must give its reason).',
  ].join('\n');
}
