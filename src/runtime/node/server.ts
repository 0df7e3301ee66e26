import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BridgeOptions, requestListener, type TrustProxy, toRequest } from './http';
import type { NodeApp } from './runtime';

export interface NodeServer {
  /** e.g. `http://127.0.0.1:8788` (the port actually bound when 0 was asked for). */
  url: string;
  port: number;
  /**
   * Stops accepting, ends subscriptions, lets requests in flight finish (up to the grace period),
   * then closes the app (and so the database, for an app from openNodeApp).
   */
  close(): Promise<void>;
}

/** How long requests in flight may take to finish at shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** Serves the app over node:http, WebSocket upgrades included, on one port. */
export async function startNodeServer(
  app: NodeApp,
  options: {
    port: number;
    host: string;
    /** The one header a proxy in front sets to the client's address (see BridgeOptions). @default null */
    trustProxy?: TrustProxy | null;
    shutdownGraceMs?: number;
  },
): Promise<NodeServer> {
  // The fallback origin is completed once the port is bound (it may have been 0).
  const bridge: BridgeOptions = {
    fallbackOrigin: `http://${urlHost(options.host)}:${options.port}`,
    trustProxy: options.trustProxy ?? null,
  };
  const server = createServer(requestListener(app.fetch, bridge));
  server.on('upgrade', (req, socket, head) => {
    let request: Request;
    try {
      request = toRequest(req, bridge);
    } catch {
      socket.destroy(); // headers no Request can carry
      return;
    }
    app.upgrade(req, socket, head, request);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${urlHost(options.host)}:${port}`;
  bridge.fallbackOrigin = origin;
  let closing: Promise<void> | null = null;
  return {
    url: origin,
    port,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Subscriptions end first: their streams would otherwise hold the server open.
        await app.endSubscriptions();
        server.closeIdleConnections();
        const grace = setTimeout(
          () => server.closeAllConnections(),
          options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS,
        );
        await closed;
        clearTimeout(grace);
        await app.close();
      })();
      return closing;
    },
  };
}
