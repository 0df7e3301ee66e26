import { exports } from 'cloudflare:workers';

export interface WsMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/** How a test socket authenticates its upgrade: a header, a ticket, or (to test refusals) neither. */
export interface SocketOptions {
  answerPings?: boolean;
  /** Sent as `Authorization: Bearer …` on the upgrade. */
  token?: string;
  /** Sent as `?ticket=` (what a browser does). */
  ticket?: string;
}

/** A single-use WebSocket ticket for the holder of `token` (POST /graphql/ws-ticket). */
export async function wsTicket(token: string): Promise<string> {
  const res = await exports.default.fetch('http://cf.test/graphql/ws-ticket', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`ws-ticket answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { ticket: string }).ticket;
}

/**
 * A graphql-transport-ws client over a real WebSocket to the worker, written out by hand so that
 * tests see the protocol as any client would. Answers pings unless told to play dead.
 */
export async function openSocket(tenant: string | null, opts: SocketOptions = {}) {
  const url = new URL('http://cf.test/graphql');
  if (tenant !== null) url.searchParams.set('tenant', tenant);
  if (opts.ticket !== undefined) url.searchParams.set('ticket', opts.ticket);
  const res = await exports.default.fetch(url, {
    headers: {
      upgrade: 'websocket',
      'sec-websocket-protocol': 'graphql-transport-ws',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
  });
  const ws = res.webSocket;
  if (!ws) return { response: res, socket: null };
  ws.accept();
  const inbox: WsMessage[] = [];
  const waiters: (() => void)[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as WsMessage;
    if (message.type === 'ping' && opts.answerPings !== false) {
      ws.send(JSON.stringify({ type: 'pong' }));
      return;
    }
    inbox.push(message);
    for (const w of waiters.splice(0)) w();
  });
  ws.addEventListener('close', (event) => {
    closed = { code: event.code, reason: event.reason };
    for (const w of waiters.splice(0)) w();
  });

  /** The next message matching `pred` (already received or arriving within `timeoutMs`). */
  async function next(pred: (m: WsMessage) => boolean = () => true, timeoutMs = 5000): Promise<WsMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex(pred);
      if (i >= 0) return inbox.splice(i, 1)[0] as WsMessage;
      if (closed) throw new Error(`socket closed (${closed.code} ${closed.reason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching message within ${timeoutMs} ms; inbox: ${JSON.stringify(inbox)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, left);
      });
    }
  }

  async function waitClosed(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return closed as { code: number; reason: string } | null;
  }

  const socket = {
    ws,
    send: (m: WsMessage | Record<string, unknown>) => ws.send(JSON.stringify(m)),
    next,
    waitClosed,
    async init(token: string | null) {
      socket.send({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} });
      return next((m) => m.type === 'connection_ack');
    },
    subscribe(id: string, query: string, variables: Record<string, unknown> = {}) {
      socket.send({ id, type: 'subscribe', payload: { query, variables } });
    },
    close: () => ws.close(1000, 'done'),
  };
  return { response: res, socket };
}

/** Reads Server-Sent Events of a GraphQL-over-SSE response, as parsed `data` payloads. */
export function sseEvents(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next(timeoutMs = 5000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (data) return JSON.parse(data);
          continue;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no SSE event within ${timeoutMs} ms`);
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('SSE read timed out')), left)),
        ]);
        if (chunk.done) throw new Error('SSE stream ended');
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}
