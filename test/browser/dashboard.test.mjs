// The dashboard and GraphiQL in a real browser (Debian chromium driven by playwright-core) against
// a real local ChangeFlow, in both runtimes: `wrangler dev` on a free loopback port with its own
// throwaway D1, and the Node runtime (SQLite in memory) serving the same public/: sign in, go live
// over the subscription, change something through the API and watch the page follow; then GraphiQL
// and the REST reference, which must load entirely from this server (no CDN). Screenshots go to
// test-artifacts/ (the Node runtime's with a -node suffix).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAssets } from '../../scripts/buildAssets.mjs';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';
import { graphqlOk } from '../node/graphqlOk.mjs';
import { launchChromium, SKIP } from './chromium.mjs';

const SECRET = 'browser-test-secret-0123456789abcdef012345';
const TENANT = 'browser';
const ARTIFACTS = 'test-artifacts';
const LIVE_TIMEOUT = 20_000;
const UPDATE_TIMEOUT = 15_000;

/** A request the page may make: this server, or in-page URLs. */
function isLocal(url) {
  if (url.startsWith('blob:') || url.startsWith('data:') || url.startsWith('about:')) return true;
  const { hostname } = new URL(url);
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/** The two runtimes, each started with its own data: `{ baseUrl, stop }`. */
const RUNTIMES = [
  {
    name: 'wrangler dev',
    suffix: '',
    async start() {
      const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-browser-'));
      migrateLocal({ persistTo, quiet: true });
      const local = await startLocalServer({ persistTo, vars: { JWT_SECRET: SECRET } });
      return {
        baseUrl: local.baseUrl,
        stop: async () => {
          local.stop();
          rmSync(persistTo, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'the Node runtime',
    suffix: '-node',
    async start() {
      await buildAssets({ log: () => {} });
      const app = openNodeApp({
        dbPath: ':memory:',
        env: { JWT_SECRET: SECRET, ENVIRONMENT: 'development' },
        assetsDir: new URL('../../public', import.meta.url).pathname,
      });
      const node = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
      return { baseUrl: node.url, stop: () => node.close() };
    },
  },
];

for (const runtime of RUNTIMES)
  describe(`dashboard and GraphiQL in a browser (${runtime.name})`, { skip: SKIP }, () => {
    let server;
    let browser;
    let managerToken;
    let requesterToken;

    before(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      server = await runtime.start();
      managerToken = await signDevToken({
        secret: SECRET,
        sub: 'maya',
        tenant: TENANT,
        roles: ['change_manager'],
        name: 'Maya Manager',
      });
      requesterToken = await signDevToken({
        secret: SECRET,
        sub: 'rita',
        tenant: TENANT,
        roles: ['requester'],
      });
      browser = await launchChromium();
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    /** A page that records every URL it requests and what it logs, to explain failures. */
    async function openPage() {
      const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
      const page = await context.newPage();
      const requests = [];
      const logs = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('websocket', (ws) => requests.push(ws.url()));
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      return { context, page, requests, logs };
    }

    const graphql = (token, query, variables) => graphqlOk(server.baseUrl, token)(query, variables);

    const kpi = (page, name) => page.getByTestId(`kpi-${name}`).getAttribute('data-value');

    /** Runs `check`; on failure saves a screenshot and adds the page's log to the error. */
    async function explained(page, logs, name, check) {
      try {
        return await check();
      } catch (e) {
        await page
          .screenshot({ path: join(ARTIFACTS, `${name}${runtime.suffix}-failure.png`), fullPage: true })
          .catch(() => {});
        e.message += `\n--- page log ---\n${logs.join('\n') || '(empty)'}`;
        throw e;
      }
    }

    test('signs in, goes live and follows a change made through the API', async () => {
      const { context, page, requests, logs } = await openPage();
      try {
        await explained(page, logs, 'dashboard', async () => {
          await page.goto(`${server.baseUrl}/dashboard`);
          await page.getByTestId('token-input').fill(managerToken);
          await page.getByTestId('sign-in').click();
          const status = page.getByTestId('connection-status');
          await page.waitForFunction(
            () => document.querySelector('[data-testid="connection-status"]')?.textContent === 'live',
            null,
            { timeout: LIVE_TIMEOUT },
          );
          assert.equal(await status.textContent(), 'live');
          assert.equal(await page.getByTestId('who-tenant').textContent(), TENANT);
          // Live over a WebSocket opened with a single-use ticket: never the token in a URL.
          const sockets = requests.filter((u) => u.startsWith('ws'));
          assert.ok(sockets.length > 0, `no WebSocket opened: ${requests.join(', ')}`);
          for (const u of sockets) assert.match(u, /[?&]ticket=cft_/);
          assert.ok(requests.some((u) => u.endsWith('/graphql/ws-ticket')));
          assert.ok(requests.every((u) => !u.includes(managerToken)));
          const totalBefore = Number(await kpi(page, 'totalChanges'));
          const activeBefore = Number(await kpi(page, 'activeChanges'));

          const title = `Browser test change ${Date.now()}`;
          const { createChangeRequest: created } = await graphql(
            requesterToken,
            `mutation ($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id status } }`,
            {
              input: {
                title,
                description: 'Created by the browser test to move the dashboard',
                type: 'NORMAL',
                impact: 'MEDIUM',
                urgency: 'LOW',
                affectedServices: ['billing'],
                backoutPlan: 'Redeploy the previous release',
                testPlan: 'Smoke tests',
              },
            },
          );
          const { submitChange: submitted } = await graphql(
            requesterToken,
            'mutation ($id: ID!) { submitChange(id: $id) { id status } }',
            { id: created.id },
          );

          // The figures follow: one more change, and it is active (submitted, not final).
          await page.waitForFunction(
            ([before]) =>
              Number(document.querySelector('[data-testid="kpi-totalChanges"]')?.dataset.value) ===
              before + 1,
            [totalBefore],
            { timeout: UPDATE_TIMEOUT },
          );
          await page.waitForFunction(
            ([before]) =>
              Number(document.querySelector('[data-testid="kpi-activeChanges"]')?.dataset.value) ===
              before + 1,
            [activeBefore],
            { timeout: UPDATE_TIMEOUT },
          );
          assert.match(
            await page.getByTestId('kpi-totalChanges').textContent(),
            new RegExp(`${totalBefore + 1}`),
          );
          const bar = page.locator(`[data-testid="status-chart"] g[data-status="${submitted.status}"]`);
          assert.ok(Number(await bar.getAttribute('data-count')) >= 1, `a ${submitted.status} bar`);

          // The feed shows the submission (newest first), with its transition and actor.
          const submission = page.locator(
            `[data-testid="event-feed"] [data-testid="event-item"][data-change-id="${created.id}"][data-status="${submitted.status}"]`,
          );
          await submission.first().waitFor({ timeout: UPDATE_TIMEOUT });
          const text = await submission.first().textContent();
          assert.ok(text.includes(created.id), text);
          assert.ok(text.includes(title), text);
          assert.ok(text.includes('DRAFT'), `transition from DRAFT: ${text}`);
          assert.ok(text.includes('→'), text);
          assert.ok(text.includes('rita'), `actor: ${text}`);
          const newest = page.getByTestId('event-item').first();
          assert.equal(await newest.getAttribute('data-change-id'), created.id);
          assert.equal(await status.textContent(), 'live');

          await page.screenshot({ path: join(ARTIFACTS, `dashboard${runtime.suffix}.png`), fullPage: true });
          const outside = requests.filter((u) => !isLocal(u));
          assert.deepEqual(outside, [], 'the dashboard loads nothing from other hosts');

          // Sign-out forgets the token.
          await page.getByTestId('sign-out').click();
          await page.getByTestId('token-input').waitFor();
          assert.equal(await page.evaluate(() => sessionStorage.getItem('changeflow.token')), null);
        });
      } finally {
        await context.close();
      }
    });

    test('GraphiQL on a browser GET /graphql loads only from this server and runs a query', async () => {
      const { context, page, requests, logs } = await openPage();
      try {
        await explained(page, logs, 'graphiql', async () => {
          // The dashboard's sign-in (same tab) is what GraphiQL sends as Authorization.
          await page.goto(`${server.baseUrl}/dashboard`);
          await page.evaluate((token) => sessionStorage.setItem('changeflow.token', token), managerToken);
          const response = await page.goto(`${server.baseUrl}/graphql`, { waitUntil: 'load' });
          assert.equal(response.status(), 200);
          assert.match(response.headers()['content-type'] ?? '', /text\/html/);
          assert.equal(await page.title(), 'ChangeFlow GraphiQL');
          // The offline page (public/graphiql/), not Yoga's default one that loads from a CDN.
          assert.deepEqual(
            requests.filter((u) => !isLocal(u)),
            [],
            'GraphiQL loads nothing from other hosts',
          );
          await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });

          // Runs the default query; its Authorization comes from the dashboard's session.
          const executed = page.waitForResponse(
            (r) =>
              r.url().startsWith(`${server.baseUrl}/graphql`) &&
              (r.request().postData() ?? '').includes('Dashboard'),
            { timeout: 30_000 },
          );
          const run = page.locator('.graphiql-execute-button').first();
          await run.waitFor({ timeout: 30_000 });
          await run.click();
          const result = await (await executed).json();
          assert.equal(result.errors, undefined, JSON.stringify(result.errors));
          assert.equal(typeof result.data.liveMetrics.kpis.totalChanges, 'number');
          await page.waitForTimeout(500); // let the result pane paint for the screenshot
          await page.screenshot({ path: join(ARTIFACTS, `graphiql${runtime.suffix}.png`) });

          const outside = requests.filter((u) => !isLocal(u));
          assert.deepEqual(outside, [], 'GraphiQL loads nothing from other hosts');
        });
      } finally {
        await context.close();
      }
    });
    test('the REST reference (/api-reference/) renders /openapi.json offline, orchestrator routes included', async () => {
      const { context, page, requests, logs } = await openPage();
      try {
        await explained(page, logs, 'api-reference', async () => {
          const response = await page.goto(`${server.baseUrl}/api-reference/`, { waitUntil: 'load' });
          assert.equal(response.status(), 200);
          assert.equal(await page.title(), 'ChangeFlow REST API reference');
          // Redoc's rendering of the document: an operation of the schema and one of the orchestrator.
          await page.getByText('ChangeFlow REST API', { exact: false }).first().waitFor({ timeout: 30_000 });
          const heading = (text) => page.locator('h2', { hasText: text }).first();
          await heading('Mutation.createChangeRequest').waitFor({ timeout: 30_000 });
          await heading('Cancels a running execution.').waitFor({ timeout: 30_000 });
          assert.equal(await page.locator('#status').count(), 0, 'the loading note is gone');
          await page.screenshot({ path: join(ARTIFACTS, `api-reference${runtime.suffix}.png`) });
          assert.deepEqual(
            requests.filter((u) => !isLocal(u)),
            [],
            'the reference loads nothing from other hosts',
          );
        });
      } finally {
        await context.close();
      }
    });
  });
