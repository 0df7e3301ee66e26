import { type SocketPort, systemTimers, type Timers } from './ports';

/** A WebSocket client that has not answered a ping by the next one is dropped. */
export const DEFAULT_PING_MS = 15_000;
/** graphql-transport-ws's ping; any message the client sends counts as the answer. */
const PING = '{"type":"ping"}';

export interface LiveSocket {
  /** The client was heard from: it is alive until the next ping. */
  heard(): void;
  /** The socket closed, or must: frees it (once) and closes it, an already closed one quietly. */
  close(code: number, reason: string): void;
  /** The socket broke (an error event): frees it without writing to it again. */
  lost(code: number, reason: string): void;
}

export interface SocketSet {
  /**
   * Keeps a socket alive by pings until it goes; `release` ends what it holds (its graphql-ws
   * subscriptions, its place among the caller's sockets) and runs exactly once.
   */
  add(socket: SocketPort, release: (code: number, reason: string) => void): LiveSocket;
  readonly size: number;
}

/**
 * The open sockets of a runtime that drives graphql-ws itself (a Durable Object; `ws` on Node
 * has its own keep-alive): pinged while any is open, and one that stays silent, fails a write or
 * closes is dropped with what it held.
 */
export function createSocketSet({
  pingMs = DEFAULT_PING_MS,
  timers = systemTimers,
}: {
  /** @default 15000 */
  pingMs?: number;
  /** @default the platform's setTimeout/setInterval */
  timers?: Timers;
} = {}): SocketSet {
  interface Entry {
    port: SocketPort;
    alive: boolean;
    release: (code: number, reason: string) => void;
  }
  const open = new Set<Entry>();
  let stopPinging: (() => void) | null = null;

  const free = (entry: Entry, code: number, reason: string) => {
    if (!open.delete(entry)) return false;
    entry.release(code, reason);
    return true;
  };
  const close = (entry: Entry, code: number, reason: string) => {
    free(entry, code, reason);
    try {
      // Also when already freed: answering a client's close keeps workerd from reporting 1006.
      entry.port.close(code, reason);
    } catch {
      // already closed
    }
  };

  function pingAll() {
    for (const entry of [...open]) {
      if (!entry.alive) {
        close(entry, 4408, 'No pong received');
        continue;
      }
      entry.alive = false;
      try {
        entry.port.send(PING);
      } catch {
        free(entry, 1011, 'send failed');
      }
    }
    if (open.size === 0 && stopPinging) {
      stopPinging();
      stopPinging = null;
    }
  }

  return {
    add(port, release) {
      const entry: Entry = { port, alive: true, release };
      open.add(entry);
      stopPinging ??= timers.every(pingMs, pingAll);
      return {
        heard: () => {
          entry.alive = true;
        },
        close: (code, reason) => close(entry, code, reason),
        lost: (code, reason) => void free(entry, code, reason),
      };
    },
    get size() {
      return open.size;
    },
  };
}
