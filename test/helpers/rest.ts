import { exports } from 'cloudflare:workers';

export interface RestResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  contentType: string;
  body: T;
}

/** One REST request to the worker under test, as an integration sends it; the body read as JSON. */
export async function rest<T = Record<string, unknown>>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RestResult<T>> {
  const res = await exports.default.fetch(`http://cf.test${path}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    ...(opts.body !== undefined
      ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }
      : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text: the test sees what was sent.
  }
  return {
    status: res.status,
    headers: res.headers,
    contentType: res.headers.get('content-type') ?? '',
    body: body as T,
  };
}
