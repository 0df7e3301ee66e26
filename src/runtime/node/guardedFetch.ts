import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { type EgressSettings, ipv4Rule, ipv6Rule } from '../../domain/egress';

/**
 * Webhook deliveries from a Node process (self-hosted, often inside a private network) go
 * through this fetch: the host name is resolved here and the connection goes to an address that
 * was checked, so a name that resolves (or is re-pointed, DNS rebinding) to a loopback, private,
 * link-local or metadata address is refused at connection time. The egress policy has already
 * checked the URL as written (src/domain/egress.ts); the deployment's exceptions apply here too.
 * A Worker's fetch cannot be pinned this way; Cloudflare's network does not reach private ones.
 */

type Resolver = (
  host: string,
  cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (host, cb) => dnsLookup(host, { all: true }, cb);

/** Why an address may not be connected to, or null. */
export function addressRefusal(address: string, egress: EgressSettings): string | null {
  const rule = isIP(address) === 6 ? ipv6Rule(address) : ipv4Rule(address);
  if (rule === null || egress.allowPrivate) return null;
  const canonical = isIP(address) === 6 ? `[${address}]` : address;
  return egress.allowPrivateHosts.includes(canonical) ? null : rule;
}

/** A `lookup` for node:http that only ever hands out addresses the egress settings allow. */
export function guardedLookup(egress: EgressSettings, resolve: Resolver = systemResolver) {
  return (
    host: string,
    options: { all?: boolean },
    cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    resolve(host, (err, addresses) => {
      if (err) return cb(err, '');
      const allowed = addresses.filter((a) => addressRefusal(a.address, egress) === null);
      if (allowed.length === 0) {
        const first = addresses[0];
        const why = first ? `${first.address}: ${addressRefusal(first.address, egress)}` : 'no address';
        const e: NodeJS.ErrnoException = new Error(`egress refused: ${host} resolves to ${why}`);
        e.code = 'EGRESS_DENIED';
        return cb(e, '');
      }
      if (options.all) return cb(null, allowed);
      const [pick] = allowed as [LookupAddress];
      cb(null, pick.address, pick.family);
    });
  };
}

/** A fetch over node:http(s) with the guarded lookup; redirects are never followed. */
export function guardedFetch(egress: EgressSettings, resolve?: Resolver): typeof fetch {
  const lookup = guardedLookup(egress, resolve);
  return (input, init) =>
    new Promise<Response>((resolveResponse, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const headers = new Headers(init?.headers);
      const body = typeof init?.body === 'string' ? init.body : '';
      headers.set('content-length', String(Buffer.byteLength(body)));
      const req = request(
        url,
        {
          method: init?.method ?? 'GET',
          headers: Object.fromEntries(headers),
          lookup: lookup as never,
          signal: init?.signal ?? undefined,
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 502;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
            else if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
          }
          const bare = status === 204 || status === 304 || status < 200;
          if (bare) res.resume();
          try {
            resolveResponse(
              new Response(bare ? null : (Readable.toWeb(res) as ReadableStream), {
                status: status < 200 ? 502 : status,
                headers: responseHeaders,
              }),
            );
          } catch (e) {
            reject(e);
          }
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}
