/**
 * Structured JSON logs, one object per line: the one logger of the HTTP pipeline, the runtimes,
 * the workflow engine and the use cases. Request logs carry the request id.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  base: Record<string, unknown> = {},
  sink: (line: string) => void = console.log,
): Logger {
  return {
    log(level, msg, fields) {
      sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }));
    },
  };
}

/**
 * Where log lines go. In a Worker, console.log (the platform collects it). In a Node process,
 * console.log writes each line synchronously to stdout: at one line per request that was 10% of
 * a read's CPU in the profile. This sink gathers the lines of one tick and writes them at once.
 */
export function batchedSink(write: (text: string) => void): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    const lines = pending;
    pending = [];
    write(`${lines.join('\n')}\n`);
  };
  return (line) => {
    if (pending.push(line) === 1) queueMicrotask(flush);
  };
}
