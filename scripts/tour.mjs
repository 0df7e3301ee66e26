// npm run tour [-- --url http://localhost:8787 --tenant acme]: the five-minute tour of a change's
// life, against a running ChangeFlow (`npm start` in another terminal). It mints its own tokens
// from .dev.vars' JWT_SECRET, as `npm start` does, one per person, because segregation of duties
// is enforced: the requester creates and submits, two approvers vote (never the requester), a
// change manager schedules, implements and completes; then it reads the audit log and the
// compliance report. Each step prints its GraphQL request and a short result; any error exits 1.
// test/node/tour.test.mjs runs it against `wrangler dev`, so the README's tour stays true.
// The requests are the typed documents of scripts/tour.graphql (`npm run codegen` writes them into
// operations.generated.ts, which Node runs with its types stripped): a schema change that breaks
// one fails codegen, and one that changes what the tour reads fails the typecheck.
import { parseArgs } from 'node:util';
import { print } from 'graphql';
import {
  TourApproveDocument,
  TourAuditLogDocument,
  TourCompleteDocument,
  TourComplianceReportDocument,
  TourCreateDocument,
  TourScheduleDocument,
  TourStartDocument,
  TourSubmitDocument,
} from '../operations.generated.ts';
import { assertNotProduction, readDevVars, signDevToken } from '../src/runtime/node/devVars.mjs';

/** @typedef {{ name: string, token: string }} Person */
/**
 * @template TResult, TVariables
 * @typedef {import('@graphql-typed-document-node/core').TypedDocumentNode<TResult, TVariables>} TypedDocumentNode
 */

const USAGE = `Usage: npm run tour [-- --url http://localhost:8787] [--tenant acme]   (or CHANGEFLOW_URL for --url)

Walks one NORMAL change through create, submit, approve, schedule, start, complete, then reads its
audit log and the compliance report, against a running ChangeFlow (start it with npm start).
Tokens are minted from .dev.vars' JWT_SECRET (and JWT_AUDIENCE if set), like npm start's.`;

function options() {
  try {
    return parseArgs({
      options: {
        url: { type: 'string', default: process.env.CHANGEFLOW_URL ?? 'http://localhost:8787' },
        tenant: { type: 'string', default: 'acme' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    process.exit(2);
  }
}

class TourError extends Error {}

/**
 * Tokens for the four people of the tour, signed like npm start's.
 * @param {string} tenant
 */
async function mintTokens(tenant) {
  const vars = readDevVars();
  assertNotProduction(vars);
  const secret = process.env.JWT_SECRET ?? vars.JWT_SECRET;
  if (!secret) {
    throw new TourError(
      'No JWT_SECRET in .dev.vars: run npm start once (it creates .dev.vars), then the tour',
    );
  }
  const audience = process.env.JWT_AUDIENCE ?? vars.JWT_AUDIENCE;
  /** @type {(sub: string, name: string, roles: string[]) => Promise<string>} */
  const sign = (sub, name, roles) =>
    signDevToken({ secret, sub, name, tenant, roles, audience, expiresIn: '1h' });
  return {
    requester: { name: 'Rita Requester', token: await sign('rita', 'Rita Requester', ['requester']) },
    approver1: { name: 'Abe Approver', token: await sign('abe', 'Abe Approver', ['approver']) },
    approver2: { name: 'Ada Approver', token: await sign('ada', 'Ada Approver', ['approver']) },
    manager: { name: 'Max Manager', token: await sign('max', 'Max Manager', ['change_manager']) },
  };
}

/**
 * One GraphQL POST as `who`; prints the request (on one line: the tour's documents hold no string
 * literals whose spaces collapsing would change), throws on any error.
 * @template TResult, TVariables
 * @param {string} url
 * @param {Person} who
 * @param {TypedDocumentNode<TResult, TVariables>} document
 * @param {TVariables} variables
 * @returns {Promise<TResult>}
 */
async function graphql(url, who, document, variables) {
  const query = print(document).replace(/\s+/g, ' ');
  console.log(`   as ${who.name}:`);
  console.log(`   ${query}`);
  if (variables) console.log(`   variables ${JSON.stringify(variables)}`);
  let res;
  try {
    res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${who.token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    const cause = /** @type {Error & { cause?: { code?: string } }} */ (e);
    throw new TourError(
      `Cannot reach ${url}/graphql (${cause.cause?.code ?? cause.message}): is npm start running?`,
    );
  }
  const text = await res.text();
  /** @type {{ data?: TResult, errors?: { message: string, extensions?: { code?: string } }[] }} */
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new TourError(`HTTP ${res.status} from ${url}/graphql, not JSON: ${text.slice(0, 200)}`);
  }
  const [first] = body.errors ?? [];
  if (first) {
    throw new TourError(`HTTP ${res.status}, ${first.extensions?.code ?? 'ERROR'}: ${first.message}`);
  }
  if (!res.ok || !body.data) throw new TourError(`HTTP ${res.status} without data: ${text.slice(0, 200)}`);
  return body.data;
}

/**
 * Tomorrow 10:00–12:00 UTC: a window in the future whenever the tour runs.
 * @param {Date} [now]
 */
function tomorrowWindow(now = new Date()) {
  const start = new Date(now);
  start.setUTCDate(start.getUTCDate() + 1);
  start.setUTCHours(10, 0, 0, 0);
  const end = new Date(start);
  end.setUTCHours(12);
  return { start: start.toISOString(), end: end.toISOString() };
}

/** @param {{ url: string, tenant: string }} options */
async function tour({ url, tenant }) {
  const people = await mintTokens(tenant);
  /**
   * @template TResult, TVariables
   * @param {keyof typeof people} who
   * @param {TypedDocumentNode<TResult, TVariables>} document
   * @param {TVariables} variables
   */
  const q = (who, document, variables) => graphql(url, people[who], document, variables);
  let n = 0;
  /** @param {string} title */
  const step = (title) => console.log(`\n${++n}. ${title}`);
  /** @param {string} line */
  const result = (line) => console.log(`   → ${line}`);

  step('The requester creates a NORMAL change (a DRAFT)');
  const { createChangeRequest: created } = await q('requester', TourCreateDocument, {
    input: {
      title: 'Resize the cache cluster',
      description: 'From 3 to 5 nodes.',
      impact: 'MEDIUM',
      urgency: 'MEDIUM',
      affectedServices: ['cache'],
      implementationPlan: 'Add two nodes, then rebalance.',
      backoutPlan: 'Scale back to 3 nodes.',
      testPlan: 'Hit rate stays above 90%.',
    },
  });
  const id = created.id;
  result(`${id} ${created.status}, priority ${created.priority}`);

  step('The requester submits it: risk is assessed, the change goes to the CAB');
  const { submitChange: submitted } = await q('requester', TourSubmitDocument, { id });
  const factors = (submitted.riskFactors ?? []).map((f) => `${f.label} +${f.contribution}`).join(', ');
  result(`${submitted.status}, risk ${submitted.riskLevel} (${submitted.riskScore}: ${factors})`);

  step('The CAB votes: approvers, never the requester, until the risk level’s quorum is met');
  let status = submitted.status;
  for (const who of /** @type {const} */ (['approver1', 'approver2', 'manager'])) {
    if (status === 'APPROVED') break;
    const { approveChange: vote } = await q(who, TourApproveDocument, { id, comment: 'Reviewed in CAB' });
    status = vote.change.status;
    const still = vote.stillNeeded ? ` (${vote.stillNeeded})` : '';
    result(`${vote.approvalsReceived}/${vote.approvalsRequired} approvals, ${status}${still}`);
  }
  if (status !== 'APPROVED') throw new TourError(`${id} is ${status} after three votes, not APPROVED`);

  const window = tomorrowWindow();
  step(`The change manager schedules it for tomorrow, ${window.start} to ${window.end}`);
  const { scheduleChange: scheduled } = await q('manager', TourScheduleDocument, {
    id,
    start: window.start,
    end: window.end,
  });
  const conflicts = scheduled.conflicts.map((c) => `${c.changeId} on ${c.services.join(', ')}`);
  result(
    `${scheduled.change.status}${conflicts.length ? `; overlaps ${conflicts.join('; ')}` : ', no overlap'}`,
  );

  step('The change manager starts the implementation');
  const { startImplementation: started } = await q('manager', TourStartDocument, { id });
  result(started.status);

  step('… and completes it');
  const { completeChange: completed } = await q('manager', TourCompleteDocument, { id });
  result(completed.status);
  if (completed.status !== 'COMPLETED') throw new TourError(`${id} ended ${completed.status}, not COMPLETED`);

  step('Its audit log: every write, hash-chained, newest first');
  const { auditLog } = await q('manager', TourAuditLogDocument, { id });
  for (const e of auditLog.nodes) result(`#${e.seq} ${e.action} by ${e.actorId}`);
  if (auditLog.nodes.length === 0) throw new TourError(`no audit events for ${id}`);

  const to = new Date(Date.now() + 60_000).toISOString();
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
  step('The compliance report of the last 30 days');
  const { complianceReport: report } = await q('manager', TourComplianceReportDocument, { from, to });
  result(
    `score ${report.score}/100 over ${report.changesReviewed} changes, ${report.findings.length} findings`,
  );
  for (const f of report.findings.slice(0, 5)) result(`${f.checkId} ${f.changeId}: ${f.message}`);

  console.log(`\nDone: ${id} is COMPLETED (tenant "${tenant}", ${url}).`);
}

const opts = options();
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
try {
  await tour({ url: opts.url.replace(/\/+$/, ''), tenant: opts.tenant });
} catch (e) {
  const shown = e instanceof TourError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  console.error(`\n✗ ${shown}`);
  process.exit(1);
}
