// Seeds a demo tenant through the GraphQL API of a running ChangeFlow, so that every demo row
// has its audit event in the hash chain. Skips when the tenant already has changes.

const CHANGE = 'id status version';
/** @typedef {{ id: string, status: string, version: number }} SeededChange */
/** @typedef {'admin' | 'requester' | 'approver1' | 'approver2' | 'manager'} Person */

/**
 * One GraphQL request; the caller names the shape of the data its query selects.
 * @param {string} baseUrl
 * @param {string} token
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<unknown>}
 */
async function call(baseUrl, token, query, variables = {}) {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = /** @type {{ data?: unknown, errors?: unknown[] }} */ (await res.json());
  if (body.errors?.length) throw new Error(`${JSON.stringify(body.errors)} for ${query.slice(0, 60)}`);
  return body.data;
}

/** @type {(days: number, hour: number) => string} */
const isoIn = (days, hour) => {
  const d = new Date(Date.now() + days * 86_400_000);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
};

/**
 * `tokens`: admin, requester, approver1, approver2, manager of the demo tenant.
 * @param {string} baseUrl
 * @param {Record<Person, string>} tokens
 */
export async function seedDemo(baseUrl, tokens) {
  /** @type {(who: Person, query: string, vars?: Record<string, unknown>) => Promise<unknown>} */
  const q = (who, query, vars) => call(baseUrl, tokens[who], query, vars);
  const existing = /** @type {{ changes: { nodes: { id: string }[] } }} */ (
    await q('admin', '{ changes(first: 1) { nodes { id } } }')
  );
  if (existing.changes.nodes.length > 0) return { skipped: true, created: 0 };

  await q('manager', 'mutation { tagService(name: "payments", tags: ["pci"]) { name } }');
  await q(
    'manager',
    'mutation($s: DateTime!, $e: DateTime!) { createFreezeWindow(name: "Quarter-end close", reason: "Finance freeze", startsAt: $s, endsAt: $e) { id } }',
    {
      s: isoIn(20, 0),
      e: isoIn(27, 0),
    },
  );

  /** @param {Record<string, unknown>} input */
  const create = async (input) => {
    const data = /** @type {{ createChangeRequest: SeededChange }} */ (
      await q(
        'requester',
        `mutation($i: CreateChangeRequestInput!) { createChangeRequest(input: $i) { ${CHANGE} } }`,
        { i: input },
      )
    );
    return data.createChangeRequest;
  };
  /** @type {(who: Person, name: string, id: string, extra?: string) => Promise<SeededChange>} */
  const step = async (who, name, id, extra = '') => {
    const query = `mutation($id: ID!) { ${name}(id: $id${extra}) { ${CHANGE} } }`;
    const data = /** @type {Record<string, SeededChange>} */ (await q(who, query, { id }));
    return /** @type {SeededChange} */ (data[name]);
  };
  /** @type {(who: Person, id: string) => Promise<string>} */
  const vote = async (who, id) => {
    const mutation =
      'mutation($id: ID!) { approveChange(id: $id, comment: "Reviewed in CAB") { change { status } } }';
    const data = /** @type {{ approveChange: { change: { status: string } } }} */ (
      await q(who, mutation, { id })
    );
    return data.approveChange.change.status;
  };
  /**
   * Votes in CAB order until the policy for the change's risk level is met.
   * @param {string} id
   */
  const approveFully = async (id) => {
    for (const who of /** @type {const} */ (['approver1', 'approver2', 'manager'])) {
      if ((await vote(who, id)) === 'APPROVED') return;
    }
    throw new Error(`change ${id} was not approved after three votes`);
  };

  const plans = {
    implementationPlan: 'Roll out to one zone, watch the dashboards for 15 minutes, then the rest.',
    backoutPlan: 'Redeploy the previous release from the pipeline.',
    testPlan: 'Synthetic checkout and login probes must stay green.',
  };

  // Standard changes come from templates a change manager wrote down once (pre-authorised work).
  /** @param {Record<string, unknown>} input */
  const template = async (input) => {
    const data = /** @type {{ createStandardChangeTemplate: { id: string } }} */ (
      await q(
        'manager',
        'mutation($i: CreateStandardChangeTemplateInput!) { createStandardChangeTemplate(input: $i) { id } }',
        { i: input },
      )
    );
    return data.createStandardChangeTemplate.id;
  };
  /** @type {(templateId: string, variables: Record<string, string>, days: number, hour: number) => Promise<SeededChange>} */
  const fromTemplate = async (templateId, variables, days, hour) => {
    const data = /** @type {{ createChangeFromTemplate: SeededChange }} */ (
      await q(
        'requester',
        `mutation($t: ID!, $i: CreateChangeFromTemplateInput!) { createChangeFromTemplate(templateId: $t, input: $i) { ${CHANGE} } }`,
        {
          t: templateId,
          i: {
            titleVariables: Object.entries(variables).map(([name, value]) => ({ name, value })),
            plannedStart: isoIn(days, hour),
            plannedEnd: isoIn(days, hour + 1),
          },
        },
      )
    );
    return data.createChangeFromTemplate;
  };
  const tlsRotation = await template({
    name: 'TLS certificate rotation',
    titlePattern: 'Rotate TLS certificates on {{proxy}}',
    titleVariables: ['proxy'],
    description: 'Yearly rotation before expiry.',
    affectedServices: ['edge-proxy'],
    urgency: 'MEDIUM',
    riskLevel: 'LOW',
    ...plans,
  });
  const osPatch = await template({
    name: 'Monthly OS patching',
    titlePattern: 'Patch the OS of the {{fleet}}',
    titleVariables: ['fleet'],
    description: 'Monthly security patches.',
    affectedServices: ['ci-agents'],
    riskLevel: 'LOW',
    ...plans,
  });

  await fromTemplate(tlsRotation, { proxy: 'the edge proxies' }, 5, 2);

  const pending = await create({
    title: 'Upgrade the payments database to Postgres 17',
    description: 'Major version upgrade of the payments cluster.',
    impact: 'HIGH',
    urgency: 'MEDIUM',
    affectedServices: ['payments', 'payments-db'],
    ...plans,
  });
  await step('requester', 'submitChange', pending.id);
  await vote('approver1', pending.id);

  // Workflows: a runbook the scheduled change below names (implementing it runs the runbook),
  // and a release checklist whose approval gate waits on the pending database upgrade.
  /** @param {Record<string, unknown>} input */
  const workflow = async (input) => {
    const data = /** @type {{ createWorkflow: { id: string } }} */ (
      await q('manager', 'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }', {
        i: input,
      })
    );
    return data.createWorkflow.id;
  };
  const runbook = await workflow({
    name: 'Enable HTTP/3 runbook',
    description: 'Announces the change, lets the edge soak for 10 s, then reports.',
    steps: [
      {
        id: 'announce',
        type: 'transform',
        spec: { pick: { change: 'inputs.change.id', title: 'inputs.change.title' } },
      },
      { id: 'soak', type: 'delay', durationMs: 10_000 },
      { id: 'report', type: 'transform', spec: { value: { http3: 'enabled' } } },
    ],
  });
  const checklist = await workflow({
    name: 'Payments DB release checklist',
    description: 'Waits for the CAB to approve the upgrade, then prepares the release notes.',
    steps: [
      { id: 'cab', type: 'approval-gate', changeId: pending.id },
      {
        id: 'notes',
        type: 'transform',
        spec: { pick: { change: 'steps.cab.changeId', approvedAt: 'steps.cab.approvedAt' } },
      },
    ],
  });
  await q('manager', 'mutation($w: ID!) { executeWorkflow(workflowId: $w) { id } }', { w: checklist });

  // A tenant secret (admins set them; the value is encrypted and never shown again) and a
  // workflow that may send it only to the host it is for. Not run: the demo has no such account.
  await q(
    'admin',
    'mutation($v: String!) { setWorkflowSecret(name: "STATUSPAGE_TOKEN", value: $v, allowedHosts: ["api.statuspage.io"]) { name } }',
    { v: `demo-${crypto.randomUUID()}` },
  );
  await workflow({
    name: 'Post maintenance notice',
    description: 'Opens a scheduled-maintenance notice on the status page (run it by hand).',
    steps: [
      {
        id: 'notice',
        type: 'http-request',
        method: 'POST',
        url: 'https://api.statuspage.io/v1/pages/demo/incidents',
        headers: { Authorization: 'Bearer {{ secrets.STATUSPAGE_TOKEN }}' },
        body: '{"incident": {"name": "{{ inputs.title }}", "status": "scheduled"}}',
      },
    ],
  });

  // A runbook is attached by a change manager (a requester may not name one).
  const scheduled = await create({
    title: 'Enable HTTP/3 on the public API',
    description: 'Turn on QUIC for api.example.com.',
    impact: 'MEDIUM',
    urgency: 'LOW',
    affectedServices: ['public-api'],
    ...plans,
  });
  await q(
    'manager',
    `mutation($id: ID!, $w: ID!) { updateChangeRequest(id: $id, input: { runbookWorkflowId: $w }) { ${CHANGE} } }`,
    { id: scheduled.id, w: runbook },
  );
  await step('requester', 'submitChange', scheduled.id);
  await approveFully(scheduled.id);
  await q(
    'manager',
    `mutation($id: ID!, $s: DateTime!, $e: DateTime!) { scheduleChange(id: $id, plannedStart: $s, plannedEnd: $e) { change { id } } }`,
    {
      id: scheduled.id,
      s: isoIn(3, 22),
      e: isoIn(3, 23),
    },
  );

  const done = await fromTemplate(osPatch, { fleet: 'build agents' }, 1, 2);
  await step('requester', 'submitChange', done.id);
  await q(
    'manager',
    `mutation($id: ID!, $s: DateTime!, $e: DateTime!) { scheduleChange(id: $id, plannedStart: $s, plannedEnd: $e) { change { id } } }`,
    {
      id: done.id,
      s: isoIn(1, 2),
      e: isoIn(1, 3),
    },
  );
  await step('manager', 'startImplementation', done.id);
  await step('manager', 'completeChange', done.id);

  const emergency = await create({
    title: 'Hotfix: checkout returns 500 for saved cards',
    description: 'Revert the tokenisation library to 4.2.1.',
    type: 'EMERGENCY',
    impact: 'HIGH',
    urgency: 'HIGH',
    affectedServices: ['payments', 'checkout'],
    ...plans,
  });
  await step('requester', 'submitChange', emergency.id);
  await step(
    'admin',
    'emergencyOverride',
    emergency.id,
    ', justification: "Customers cannot pay with saved cards; revenue impact is immediate."',
  );
  return { skipped: false, created: 5 };
}
