/** Structured JSON logs, one object per line, always with the request id. */
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

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Keeps a well-formed incoming X-Request-Id (to follow a call across systems), else makes one. */
export function requestIdFor(request: Request): string {
  const incoming = request.headers.get('x-request-id');
  return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}
