import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Config, configVars, nodeAuditArchiveDir, parseConfig } from '../../config';
import { DELIVERY_TIMEOUT_MS } from '../../domain/webhooks';
import { type AppBindings, type AppPorts, createApp } from '../../http/app';
import { createGraphQLServer } from '../../http/graphqlServer';
import { hostAllowedOnLoopback, isLoopbackListenAddress } from '../../http/rebinding';
import { batchedSink, createLogger } from '../../log';
import { MetricsAggregator } from '../../metrics/aggregator';
import { schema } from '../../schema';
import { type AuditDigestDeps, digestAllTenants } from '../../usecases/auditDigests';
import { continueBackgroundVerifications } from '../../usecases/auditVerification';
import { commitWithAudit } from '../../usecases/commit';
import { type AuthedContext, createRequestContext } from '../../usecases/context';
import type { WebhookTransport } from '../../usecases/ports/webhookTransport';
import { keyedMutex } from '../../usecases/ports/writeLock';
import { type ExportDeps, runScheduledExports } from '../../usecases/tenantExports';
import { startCronWorkflows } from '../../usecases/workflows/cron';
import { enginePrincipal } from '../../usecases/workflows/runbooks';
import { openStepSecrets } from '../../usecases/workflows/secrets';
import { directoryArchive } from './auditArchive';
import { memoryBreakers } from './breakers';
import { NodeExecutions } from './executions';
import { NodeFollowUps } from './followUps';
import { guardedFetch } from './guardedFetch';
import { LiveHub } from './liveHub';
import { hubEvents, nodePorts } from './ports';
import { memoryRateLimiter } from './rateLimiter';
import { retentionTimer } from './retentionTimer';
import { applyMigrations, openSqliteD1, type SqliteD1Options } from './sqlite';
import { directoryAssets } from './staticAssets';
import { nodeGraphqlWsOptions, type SubscriptionDeps, serveEventStream } from './subscriptions';
import { WebSocketGateway } from './websocket';

export interface NodeApp {
  /** The whole HTTP surface (`/graphql`, `/mcp`, `/health`, `/metrics`, …), as the Worker serves it. */
  fetch(request: Request): Promise<Response>;
  /**
   * For node:http's 'upgrade' event (GraphQL subscriptions over WebSocket on `/graphql`): the raw
   * request and socket, and the same request as the Fetch Request the app sees.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, request: Request): void;
  /** Ends every subscription (SSE streams complete, WebSockets close with 1001). */
  endSubscriptions(): Promise<void>;
  /** Ends subscriptions and releases what the app opened itself (a database it was given stays open). */
  close(): Promise<void>;
  /** The configuration parsed from `env`. */
  config: Config;
  /** Starts the workflows whose cron trigger matches `at`'s minute (what a timer does every minute). */
  runCron(at: Date): Promise<string[]>;
}

export interface NodeAppOptions {
  db: D1Database;
  /** Configuration variables as the Worker reads them (JWT_SECRET, ENVIRONMENT, …); `process.env` fits. */
  env?: object;
  /**
   * The address the server listens on (`--host`). On loopback (the default 127.0.0.1) only
   * requests that name a loopback host or PUBLIC_URL's are answered (DNS-rebinding protection).
   */
  listenHost?: string;
  /**
   * The Worker's static assets directory (public/, built by scripts/buildAssets.mjs): the
   * dashboard, the offline GraphiQL and the REST reference, served as Cloudflare serves them.
   * Without one, a browser opening /graphql gets a page that says how to use it instead.
   */
  assetsDir?: string | null;
}

/**
 * The app on Node, in process: the same createApp(schema) as the Worker, with the ports this
 * runtime provides. Throws a ConfigError naming the variable when the configuration is invalid.
 */
export function createNodeApp(options: NodeAppOptions): NodeApp {
  const vars = configVars(options.env ?? {});
  const config = parseConfig(vars);
  const assets = options.assetsDir ? directoryAssets(options.assetsDir) : null;
  const bindings: AppBindings = { ...vars, DB: options.db, ...(assets ? { ASSETS: assets.binding } : {}) };
  const logger = createLogger({ service: 'changeflow', component: 'node' });
  const metrics = new MetricsAggregator();
  const hub = new LiveHub({ db: options.db, metrics, logger });
  const events = hubEvents(hub, logger);
  // Shared by requests and the follow-up drainers: both write as the tenant.
  const writeLock = keyedMutex();
  // Resolves and checks the receiver's addresses itself: no rebinding to a private one.
  const egressFetch = guardedFetch(config.egress);
  // One board per tenant for workflow steps and webhook deliveries, as the Worker's BreakerBoard.
  const breakers = memoryBreakers(config.breaker);
  const webhooks: WebhookTransport = {
    fetch: egressFetch,
    breakers,
    secretKeys: config.secretKeys,
    egress: config.egress,
    httpsOnly: config.environment !== 'development',
    timeoutMs: DELIVERY_TIMEOUT_MS,
    random: Math.random,
  };
  const followUps: NodeFollowUps = new NodeFollowUps({
    db: options.db,
    events,
    writeLock,
    logger,
    webhooks,
    executions: () => executions,
  });
  /** The engine's writes join the tenant's chain as the engine itself, as in the Worker (asEngine). */
  const asEngine = (tenantId: string, requestId: string): AuthedContext =>
    createRequestContext({
      db: options.db,
      requestId,
      principal: enginePrincipal(tenantId),
      source: 'system',
      events,
      executions,
      writeLock,
      followUps: followUps.port(),
    }) as AuthedContext;
  const executions: NodeExecutions = new NodeExecutions({
    db: options.db,
    logger: createLogger({ service: 'changeflow', component: 'engine' }),
    settle: (executionId) => followUps.settle(executionId),
    breakers: breakers.list,
    ports: (tenantId) => ({
      db: options.db,
      commit: (requestId, plan) => commitWithAudit(asEngine(tenantId, requestId), plan),
      breakers: breakers(tenantId),
      // Only ever the execution's own tenant: fixed here, not taken from the step.
      secrets: async (names) =>
        names.length ? openStepSecrets(options.db, config.secretKeys, tenantId, names) : new Map(),
      publish: async (event) => events.publishExecution?.(event),
      fetch: egressFetch,
      egress: config.egress,
      now: () => new Date(),
      random: Math.random,
      cancelPollMs: config.execution.cancelPollMs,
      gatePollMs: config.execution.gatePollMs,
    }),
  });
  const deps: SubscriptionDeps = {
    db: options.db,
    config,
    // Its own Yoga instance, as the Worker's hub has: same schema, same plugins, same config.
    yoga: createGraphQLServer(schema, config),
    hub,
    events,
    logger,
  };
  // One limiter for HTTP requests and socket operations: both count against the same caller.
  const rateLimiter = memoryRateLimiter();
  const gateway: WebSocketGateway = new WebSocketGateway(
    nodeGraphqlWsOptions(deps, (extra) => gateway.sessionOf(extra)),
    { db: options.db, config, limiter: rateLimiter },
  );
  const ports: AppPorts = nodePorts({
    hub,
    events,
    metrics,
    rateLimiter,
    writeLock,
    followUps: followUps.port(),
    executions,
    subscriptions: async (request, credential) =>
      request.headers.get('upgrade')?.toLowerCase() === 'websocket'
        ? gateway.accept(request, credential)
        : serveEventStream(deps, request, credential),
  });
  if (options.listenHost !== undefined && isLoopbackListenAddress(options.listenHost))
    ports.loopbackOnly = true;
  const archiveDir = nodeAuditArchiveDir(config);
  ports.auditArchive = archiveDir === null ? null : directoryArchive(archiveDir);
  const stopDigests = config.auditDigests.enabled
    ? hourlyDigests(
        { db: options.db, archive: ports.auditArchive, settings: config.auditDigests, now: () => new Date() },
        logger,
      )
    : async () => {};
  const stopExports = ports.auditArchive
    ? scheduledExports(
        { db: options.db, archive: ports.auditArchive, digests: config.auditDigests, now: () => new Date() },
        config.backupExportIntervalHours,
        logger,
      )
    : async () => {};
  const stopPruning = retentionTimer(options.db, logger);
  // FULL audit verifications, continued a bounded number of pages a minute (as the Worker's cron).
  const stopVerifications = periodic(logger, 'audit verifications', MINUTE_MS, () =>
    continueBackgroundVerifications({
      db: options.db,
      auditDigestSettings: config.auditDigests,
      now: () => new Date(),
    }),
  );
  // Cron-triggered workflows, every minute (the Worker's cron), and the executions a restart left
  // live, from where their journal says they were.
  const runCron = (at: Date) =>
    startCronWorkflows(options.db, at, async (tenantId, requestId, work) =>
      work(asEngine(tenantId, requestId)),
    );
  const stopCron = periodic(logger, 'cron workflows', MINUTE_MS, async (at) => ({
    failed: [],
    started: await runCron(at),
  }));
  executions.resume().then(
    (resumed) => resumed.length && logger.log('info', 'executions resumed', { resumed }),
    (e) => logger.log('error', 'could not resume executions', { error: String(e) }),
  );
  // One write per tick instead of a synchronous console.log per line (see src/log.ts).
  const app = createApp(schema, { logSink: batchedSink((text) => process.stdout.write(text)) });
  // Static files first, as Cloudflare serves assets before the Worker (but never on WORKER_FIRST),
  // to the hosts the app answers: on loopback a DNS-rebinding request gets the app's 403 here too.
  const servesFiles = (request: Request) =>
    (request.method === 'GET' || request.method === 'HEAD') &&
    (!ports.loopbackOnly || hostAllowedOnLoopback(request.url, config.publicOrigin));
  const toApp = (request: Request) => app.fetch(request, bindings, ports);
  const fetch = assets
    ? (request: Request) => {
        const file = servesFiles(request) ? assets.serve(request) : null;
        return file ? Promise.resolve(file) : toApp(request);
      }
    : toApp;
  let ending: Promise<void> | null = null;
  const endSubscriptions = () => {
    ending ??= (async () => {
      await Promise.all([stopDigests(), stopExports(), stopPruning(), stopVerifications(), stopCron()]);
      hub.close();
      await gateway.close();
    })();
    return ending;
  };
  return {
    fetch,
    upgrade: (req, socket, head, request) => void gateway.handleUpgrade(req, socket, head, request, fetch),
    endSubscriptions,
    close: async () => {
      // Executions stop at a step boundary first: their journals keep them for the next start.
      await executions.close();
      followUps.close();
      await endSubscriptions();
    },
    config,
    runCron,
  };
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/**
 * A Worker cron in this process: `task` at every multiple of `periodMs` (UTC), with the time it
 * stands for. Returns what stops it, once a run in flight has ended (so the database is not closed
 * under it). The timer does not keep the process alive; a failure is logged.
 */
function periodic(
  logger: ReturnType<typeof createLogger>,
  name: string,
  periodMs: number,
  task: (at: Date) => Promise<{ failed: unknown[] }>,
): () => Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(run, periodMs - (Date.now() % periodMs));
    timer.unref?.();
  };
  const run = () => {
    const at = new Date(Math.round(Date.now() / periodMs) * periodMs);
    running = running
      .then(() => task(at))
      .then(
        (report) => logger.log(report.failed.length ? 'error' : 'info', name, { ...report }),
        (e) => logger.log('error', `${name} failed`, { error: String(e) }),
      );
    schedule();
  };
  schedule();
  return () => {
    clearTimeout(timer);
    return running;
  };
}

/** The Worker's hourly audit digests: at the top of every hour, every tenant with new events. */
const hourlyDigests = (deps: AuditDigestDeps, logger: ReturnType<typeof createLogger>) =>
  periodic(logger, 'audit digests', HOUR_MS, () => digestAllTenants(deps));

/** The Worker's cron for tenant exports: continues running ones every minute, starts due ones hourly. */
const scheduledExports = (deps: ExportDeps, intervalHours: number, logger: ReturnType<typeof createLogger>) =>
  periodic(logger, 'tenant exports', MINUTE_MS, (at) => runScheduledExports(deps, at, intervalHours));

export interface OpenNodeAppOptions extends Omit<NodeAppOptions, 'db'>, SqliteD1Options {
  /** The SQLite file (created if missing), or `:memory:`. */
  dbPath: string;
  /** Where the D1 migrations are. @default 'migrations' */
  migrationsDir?: string;
}

/** Opens the SQLite file, applies pending migrations and builds the app; `close` closes the file too. */
export function openNodeApp(options: OpenNodeAppOptions): NodeApp & { db: D1Database; migrated: string[] } {
  const db = openSqliteD1(options.dbPath, options);
  try {
    const migrated = applyMigrations(db, options.migrationsDir);
    const app = createNodeApp({ ...options, db });
    return {
      ...app,
      db,
      migrated,
      async close() {
        await app.close();
        db.close();
      },
    };
  } catch (e) {
    db.close();
    throw e;
  }
}
