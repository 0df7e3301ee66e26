/**
 * What the live core needs of its runtime. Both runtimes run in-memory timers today (a Durable
 * Object keeps them while it holds sockets); a runtime with other means (alarms, a test's fake
 * clock) implements these instead.
 */

/** Schedules work; each call returns the function that cancels it. */
export interface Timers {
  /** Runs `run` once, `ms` from now. */
  after(ms: number, run: () => void): () => void;
  /** Runs `run` every `ms` until cancelled. */
  every(ms: number, run: () => void): () => void;
}

/** The platform's setTimeout and setInterval (workerd and Node alike). */
export const systemTimers: Timers = {
  after(ms, run) {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  },
  every(ms, run) {
    const timer = setInterval(run, ms);
    return () => clearInterval(timer);
  },
};

/** Where the core reports what went wrong off any request (a failed snapshot). */
export interface LiveLogger {
  log(level: 'error', msg: string, fields: Record<string, unknown>): void;
}

/** One client connection, as the runtime's socket API exposes it. */
export interface SocketPort {
  /** Throws when the socket can no longer be written. */
  send(data: string): void;
  close(code: number, reason: string): void;
}
