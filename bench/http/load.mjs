// One autocannon run against one server: fixed connections and duration, POSTing one GraphQL
// body. Returns requests/s (total answered / seconds), latency p50/p99 (ms) and every kind of
// failure, so that a server that answers fast with errors cannot look good.
import autocannon from 'autocannon';

/**
 * @param {{ url: string, body: string, headers: Record<string, string>, connections: number, durationS: number }} options
 */
export async function load({ url, body, headers, connections, durationS }) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration: durationS,
    // The default pipelining (1) and no per-request timeout surprises on a loaded 2-core machine.
    timeout: 30,
  });
  return {
    rps: result.requests.total / (result.duration || durationS),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
