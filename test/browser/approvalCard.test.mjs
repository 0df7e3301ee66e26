// The approval card (an MCP App) in a real browser, loaded the way an MCP Apps host loads it,
// against a real local ChangeFlow (`wrangler dev` with its own throwaway D1). The host page is
// the ext-apps package's own host side (AppBridge + PostMessageTransport) over the official MCP
// client: it lists the tools, finds review_change's `_meta.ui.resourceUri`, reads that resource,
// renders it in a sandboxed iframe and hands it the tool result; the card's buttons call tools
// back through the bridge as the signed-in person. Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { graphqlOk } from '../node/graphqlOk.mjs';
import { launchChromium, SKIP } from './chromium.mjs';

const SECRET = 'browser-test-secret-0123456789abcdef012345';
const TENANT = 'card';
const ARTIFACTS = 'test-artifacts';
const HOST_PATH = '/__test-host/approval-card';
const TIMEOUT = 20_000;

/**
 * The host: what a chat client supporting MCP Apps does with a tool that declares a UI. Exposed
 * as `window.openCard(token, tool, args)`; it resolves once the card has the tool result.
 */
const HOST_SCRIPT = `
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

window.openCard = async (token, tool, args) => {
  const client = new Client({ name: 'changeflow-test-host', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp/all', location.origin), {
      requestInit: { headers: { authorization: 'Bearer ' + token } },
    }),
  );
  const { tools } = await client.listTools();
  const uri = tools.find((t) => t.name === tool)?._meta?.ui?.resourceUri;
  if (!uri) throw new Error(tool + ' declares no UI resource');
  const { contents } = await client.readResource({ uri });
  const page = contents[0];
  if (page.mimeType !== 'text/html;profile=mcp-app') throw new Error('not an MCP App: ' + page.mimeType);
  const iframe = document.createElement('iframe');
  // As hosts do: scripts, but an opaque origin (no cookies, storage or same-origin requests).
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.style.cssText = 'width: 720px; height: 560px; border: 1px solid #999';
  document.body.append(iframe);
  const bridge = new AppBridge(
    client,
    { name: 'changeflow-test-host', version: '1.0.0' },
    { serverTools: {} },
  );
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = page.text;
  const result = await client.callTool({ name: tool, arguments: args });
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(result);
  window.cardUri = uri;
};
`;

async function hostPage() {
  const result = await build({
    stdin: { contents: HOST_SCRIPT, resolveDir: process.cwd(), sourcefile: 'host.js', loader: 'js' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    write: false,
    logLevel: 'silent',
  });
  const [out] = result.outputFiles;
  assert.ok(out, 'esbuild wrote no host bundle');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test host</title></head><body><script>${out.text.replace(/<\/script/gi, '<\\/script')}</script></body></html>`;
}

describe('the approval card in an MCP Apps host', { skip: SKIP }, () => {
  let persistTo;
  let server;
  let browser;
  let hostHtml;
  const tokens = {};

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    persistTo = mkdtempSync(join(tmpdir(), 'changeflow-card-'));
    migrateLocal({ persistTo, quiet: true });
    const [started, html] = await Promise.all([
      startLocalServer({ persistTo, vars: { JWT_SECRET: SECRET } }),
      hostPage(),
    ]);
    server = started;
    hostHtml = html;
    const sign = (sub, roles) => signDevToken({ secret: SECRET, sub, tenant: TENANT, roles, name: sub });
    tokens.requester = await sign('rita', ['requester']);
    tokens.approver1 = await sign('abe', ['approver']);
    tokens.approver2 = await sign('ada', ['approver']);
    // Raises changes and may vote: the one person whose vote on their own change the rules refuse.
    tokens.both = await sign('sam', ['requester', 'approver']);
    tokens.viewer = await sign('vera', ['viewer']);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    if (persistTo) rmSync(persistTo, { recursive: true, force: true });
  });

  const graphql = (token, query, variables) => graphqlOk(server.baseUrl, token)(query, variables);

  /** A NORMAL, MEDIUM-risk change raised and submitted by `token`: it needs two approvals. */
  async function pendingChange(token, title) {
    const { createChangeRequest: created } = await graphql(
      token,
      'mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }',
      {
        input: {
          title,
          description: 'Minor version upgrade of Postgres on the payments cluster.',
          type: 'NORMAL',
          impact: 'MEDIUM',
          urgency: 'MEDIUM',
          affectedServices: ['payments-db'],
          implementationPlan: 'Fail over, upgrade the replica, fail back.',
          backoutPlan: 'Fail back to the old primary.',
          testPlan: 'Run the smoke suite against the cluster.',
        },
      },
    );
    const { submitChange } = await graphql(
      token,
      'mutation($id: ID!) { submitChange(id: $id) { id status } }',
      {
        id: created.id,
      },
    );
    assert.equal(submitChange.status, 'PENDING_APPROVAL');
    return created.id;
  }

  /** Opens the host page as `token`'s person and shows the card for `tool` (review_change) of `id`. */
  async function openCard(token, id, tool = 'review_change') {
    const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
    const page = await context.newPage();
    const requests = [];
    const logs = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    // The host page is served from the server's origin, as a web chat client is from its own.
    await page.route(`${server.baseUrl}${HOST_PATH}`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: hostHtml }),
    );
    await page.goto(`${server.baseUrl}${HOST_PATH}`);
    await page.evaluate(
      ([t, changeId, name]) => window.openCard(t, name, { id: changeId }),
      [token, id, tool],
    );
    const card = page.frameLocator('iframe');
    await card.locator(`#card[data-change-id="${id}"]`).waitFor({ timeout: TIMEOUT });
    return { context, page, card, requests, logs };
  }

  async function explained(page, logs, name, check) {
    try {
      return await check();
    } catch (e) {
      await page.screenshot({ path: join(ARTIFACTS, `${name}-failure.png`), fullPage: true }).catch(() => {});
      e.message += `\n--- page log ---\n${logs.join('\n') || '(empty)'}`;
      throw e;
    }
  }

  test('shows a viewer the change from get_change_status, with no ballot and no votes', async () => {
    const id = await pendingChange(tokens.requester, `Viewed change ${Date.now()}`);
    const { context, page, card, logs } = await openCard(tokens.viewer, id, 'get_change_status');
    try {
      await explained(page, logs, 'approval-card-viewer', async () => {
        // review_change is not offered to a viewer: the card says why it shows no votes.
        await card.locator('#outcome', { hasText: 'Votes are shown to' }).waitFor({ timeout: TIMEOUT });
        assert.match(await card.locator('#card').innerText(), /PENDING_APPROVAL/);
        assert.equal(await card.getByRole('button', { name: 'Approve' }).isVisible(), false);
        assert.equal(await card.locator('[data-section^=approvals]').count(), 0);
      });
    } finally {
      await context.close();
    }
  });

  test('shows the change and records an approver’s Approve as their own vote', async () => {
    const title = `Card test change ${Date.now()}`;
    const id = await pendingChange(tokens.requester, title);
    await graphql(
      tokens.approver1,
      'mutation($id: ID!) { approveChange(id: $id, comment: "Plan is sound") { change { id } } }',
      {
        id,
      },
    );
    const { context, page, card, requests, logs } = await openCard(tokens.approver2, id);
    try {
      await explained(page, logs, 'approval-card', async () => {
        assert.equal(await card.getByRole('button', { name: 'Approve' }).isVisible(), true);
        const text = await card.locator('#card').innerText();
        assert.match(text, new RegExp(`${id}: ${title}`));
        assert.match(text, /PENDING_APPROVAL/);
        assert.match(text, /risk MEDIUM/);
        assert.match(text, /Approvals \(1 of 2; needs 1 more approval\)/i);
        assert.match(text, /APPROVED by abe: Plan is sound/);
        assert.ok((await card.locator('[data-section=risk-factors] li:not(.empty)').count()) > 0);
        assert.match(text, /Conflicts\s+none/i);
        assert.match(text, /Freeze windows\s+none/i);

        await card.locator('#comment').fill('Backout plan checked');
        await card.getByRole('button', { name: 'Approve' }).click();
        await card.locator('#card[data-status="APPROVED"]').waitFor({ timeout: TIMEOUT });
        assert.equal(await card.locator('#outcome').innerText(), 'Your approval is recorded');
        // Decided: nothing left to vote on.
        assert.equal(await card.getByRole('button', { name: 'Approve' }).isVisible(), false);
        assert.match(await card.locator('#card').innerText(), /APPROVED by ada: Backout plan checked/);
        await page.screenshot({ path: join(ARTIFACTS, 'approval-card-approved.png'), fullPage: true });

        // The vote is ada's own, on the server, not something the page made up.
        const { change } = await graphql(
          tokens.requester,
          'query($id: ID!) { change(id: $id) { status approvals { approver { id } decision comment } } }',
          { id },
        );
        assert.equal(change.status, 'APPROVED');
        assert.deepEqual(
          change.approvals.map((a) => [a.approver.id, a.decision, a.comment]),
          [
            ['abe', 'APPROVED', 'Plan is sound'],
            ['ada', 'APPROVED', 'Backout plan checked'],
          ],
        );
        // The card fetched nothing itself: every request is the host page's own, to this server.
        for (const url of requests) assert.ok(url.startsWith(server.baseUrl), `unexpected request ${url}`);
      });
    } finally {
      await context.close();
    }
  });

  test('shows APPROVAL_SELF_APPROVAL when the requester approves their own change', async () => {
    const id = await pendingChange(tokens.both, `Own change ${Date.now()}`);
    const { context, page, card, logs } = await openCard(tokens.both, id);
    try {
      await explained(page, logs, 'approval-card-self', async () => {
        await card.getByRole('button', { name: 'Approve' }).click();
        const outcome = card.locator('#outcome.error');
        await outcome.waitFor({ timeout: TIMEOUT });
        assert.match(await outcome.innerText(), /^APPROVAL_SELF_APPROVAL: /);
        await page.screenshot({ path: join(ARTIFACTS, 'approval-card-self-approval.png'), fullPage: true });
        // Nothing recorded: the change still waits for its CAB.
        const { change } = await graphql(
          tokens.both,
          'query($id: ID!) { change(id: $id) { status approvals { decision } } }',
          {
            id,
          },
        );
        assert.equal(change.status, 'PENDING_APPROVAL');
        assert.deepEqual(change.approvals, []);
        assert.equal(await card.locator('#card').getAttribute('data-status'), 'PENDING_APPROVAL');
      });
    } finally {
      await context.close();
    }
  });

  test('refuses a rejection without a reason in the card, and records one with it', async () => {
    const id = await pendingChange(tokens.requester, `Rejected change ${Date.now()}`);
    const { context, page, card, logs } = await openCard(tokens.approver1, id);
    try {
      await explained(page, logs, 'approval-card-reject', async () => {
        await card.getByRole('button', { name: 'Reject' }).click();
        assert.equal(await card.locator('#outcome').innerText(), 'A rejection needs a reason');
        await card.locator('#comment').fill('No maintenance window agreed with payments');
        await card.getByRole('button', { name: 'Reject' }).click();
        await card.locator('#card[data-status="REJECTED"]').waitFor({ timeout: TIMEOUT });
        assert.equal(await card.locator('#outcome').innerText(), 'Your rejection is recorded');
      });
    } finally {
      await context.close();
    }
  });
});
