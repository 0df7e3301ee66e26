/**
 * Where a workflow's HTTP steps may send requests. A step's URL is checked when the workflow is
 * saved and again on every attempt, on the rendered URL, before anything is sent.
 *
 * Refused by default (each refusal names its rule):
 * - loopback (127.0.0.0/8, ::1, `localhost`, `*.localhost`), unspecified (0.0.0.0/8, ::);
 * - private (RFC 1918), shared address space (CGNAT, 100.64.0.0/10), link-local (169.254.0.0/16,
 *   fe80::/10), IPv6 unique-local (fc00::/7) and site-local, multicast, reserved and the IETF
 *   special-purpose ranges, and the cloud metadata addresses (169.254.169.254 and its kin);
 * - IPv4-mapped, -compatible and -embedded IPv6 (`::ffff:127.0.0.1`, NAT64, 6to4, Teredo): an
 *   IPv4 address is written as one;
 * - an IP address written in any but its canonical form (`2130706433`, `0x7f000001`,
 *   `0177.0.0.1`, `127.1`, `[0:0::1]`): the URL parser turns these into ordinary addresses, so
 *   the text and the parsed host are both checked and must agree;
 * - the cloud metadata host names, single-label names (`metadata`, `intranet`: only a local
 *   resolver answers them) and the private-use names (`*.internal`, `*.local`, `*.home.arpa`, …).
 *
 * Other host names are checked as written: a Worker's fetch resolves them itself and cannot be
 * pinned to an address, so a name that resolves to a private address is the platform's concern
 * (Cloudflare's fetch does not reach the account's private network). The deployment may except
 * exact private hosts (EGRESS_ALLOW_PRIVATE_HOSTS) or, in development only, all of them
 * (EGRESS_ALLOW_PRIVATE); a tenant may narrow everything to an allow-list of its own.
 *
 * Pure functions, no I/O: the callers load the tenant's allow-list.
 */

/** What the deployment allows beyond the default (see src/config.ts). */
export interface EgressSettings {
  /** EGRESS_ALLOW_PRIVATE: every default refusal lifted (development only). */
  allowPrivate: boolean;
  /** EGRESS_ALLOW_PRIVATE_HOSTS: exact hosts (canonical, lower case) excepted from the default refusals. */
  allowPrivateHosts: readonly string[];
}

/** Nothing excepted: what every runtime uses unless configured otherwise. */
export const STRICT_EGRESS: EgressSettings = Object.freeze({ allowPrivate: false, allowPrivateHosts: [] });

/** One line for start-up output: what the deployment lets steps reach beyond the default. */
export function describeEgress(settings: EgressSettings): string {
  const parts = [
    settings.allowPrivate
      ? 'EGRESS_ALLOW_PRIVATE=true: private and loopback addresses reachable (development only)'
      : 'loopback, private and metadata addresses refused',
  ];
  if (settings.allowPrivateHosts.length) {
    parts.push(`except EGRESS_ALLOW_PRIVATE_HOSTS: ${settings.allowPrivateHosts.join(', ')}`);
  }
  return parts.join('; ');
}

/** The deployment's settings and the tenant's allow-list (empty: no allow-list). */
export interface EgressPolicy extends EgressSettings {
  allowedHosts: readonly string[];
}

export const NOT_ON_ALLOW_LIST = "not on the tenant's egress allow-list";

export type EgressVerdict =
  | { ok: true; host: string }
  | { ok: false; host: string; rule: string; message: string };

const deny = (host: string, rule: string): EgressVerdict => ({
  ok: false,
  host,
  rule,
  message: `host ${host} is refused: ${rule}`,
});

// ---------------------------------------------------------------------------------------------
// The URL as written

/** Scheme and `//` as the definition must spell them (the parser also accepts `http:host`). */
const LITERAL_SCHEME = /^https?:\/\//i;
/**
 * Spaces and control characters outside placeholders (`{{ inputs.x }}` may have spaces), which
 * the URL parser strips (tab, newline) or encodes: refused so that what a definition says and
 * what the parser reads agree.
 */
export function hasControlOrSpace(url: string): boolean {
  const text = url.replace(/\{\{[^{}]*\}\}/g, '');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

export type Authority = { ok: true; host: string; end: number } | { ok: false; message: string };

/**
 * The host exactly as written in a URL (lower case, IPv6 brackets kept), and where the authority
 * ends: the first `/`, `\`, `?` or `#` after `scheme://` (the parser treats `\` as `/` for http).
 * Userinfo (up to the last `@`) and the port are left out.
 */
export function writtenAuthority(url: string): Authority {
  if (!LITERAL_SCHEME.test(url)) {
    return { ok: false, message: 'must start with http:// or https://' };
  }
  const start = url.indexOf('//') + 2;
  let end = url.length;
  for (const ch of ['/', '\\', '?', '#']) {
    const i = url.indexOf(ch, start);
    if (i !== -1 && i < end) end = i;
  }
  const authority = url.slice(start, end);
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  let host: string;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    host = close === -1 ? hostPort : hostPort.slice(0, close + 1);
  } else {
    const colon = hostPort.indexOf(':');
    host = colon === -1 ? hostPort : hostPort.slice(0, colon);
  }
  return { ok: true, host: host.toLowerCase(), end };
}

/**
 * Why a URL template's scheme, host or port is not literal, or null. A placeholder before the
 * path could choose the host (`http://{{ inputs.host }}/`) or extend it
 * (`https://api.example.com{{ inputs.p }}/` with `.attacker.example`).
 */
export function templatedAuthority(template: string): string | null {
  const authority = writtenAuthority(template);
  const end = authority.ok ? authority.end : template.length;
  const open = template.indexOf('{{');
  if (open !== -1 && open < end) {
    return 'scheme, host and port must be written literally: a placeholder ({{ … }}) may only appear in the path or query';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Addresses

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4Number(text: string): number | null {
  const m = IPV4.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

const ipv4Text = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

const inV4 = (n: number, base: string, bits: number) => {
  const b = ipv4Number(base) as number;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (n & mask) >>> 0 === (b & mask) >>> 0;
};

/** Cloud instance metadata and similar services reached at a fixed address. */
const METADATA_V4 = new Set([
  '169.254.169.254', // AWS, GCP, Azure, DigitalOcean, Oracle, OpenStack
  '169.254.169.253', // AWS VPC DNS
  '169.254.170.2', // AWS ECS task metadata
  '100.100.100.200', // Alibaba Cloud
  '192.0.0.192', // Oracle Cloud (legacy)
]);

/** Blocked IPv4 ranges, most specific meaning first. */
const V4_RULES: readonly [string, number, string][] = [
  ['0.0.0.0', 32, 'unspecified address'],
  ['0.0.0.0', 8, 'this-network address (0.0.0.0/8)'],
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private (RFC 1918)'],
  ['172.16.0.0', 12, 'private (RFC 1918)'],
  ['192.168.0.0', 16, 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'shared address space (CGNAT, 100.64.0.0/10)'],
  ['169.254.0.0', 16, 'link-local (169.254.0.0/16)'],
  ['192.0.0.0', 24, 'IETF special-purpose (192.0.0.0/24)'],
  ['198.18.0.0', 15, 'benchmarking (198.18.0.0/15)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved (240.0.0.0/4)'],
];

/** The rule that refuses an IPv4 address (dotted decimal), or null. */
export function ipv4Rule(address: string): string | null {
  const n = ipv4Number(address);
  if (n === null) return null;
  if (METADATA_V4.has(address)) return 'cloud metadata address';
  for (const [base, bits, rule] of V4_RULES) if (inV4(n, base, bits)) return rule;
  return null;
}

/** The eight 16-bit groups of an IPv6 address (as the URL parser writes it, without brackets). */
function ipv6Groups(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const part = (s: string | undefined) => (s ? s.split(':') : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  // A dotted IPv4 tail (the parser never writes one, but an allow-list entry might).
  const last = (halves.length === 2 ? tail : head).at(-1);
  const v4 = last !== undefined ? ipv4Number(last) : null;
  if (v4 !== null) {
    const side = halves.length === 2 ? tail : head;
    side.splice(-1, 1, ((v4 >>> 16) & 0xffff).toString(16), (v4 & 0xffff).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.map((g) => Number.parseInt(g, 16));
}

const embeddedV4 = (g: number[], at: number) => ipv4Text(((g[at]! << 16) | g[at + 1]!) >>> 0);

/** The rule that refuses an IPv6 address (without brackets), or null. */
export function ipv6Rule(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g) return 'not a valid IPv6 address';
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 8)) return 'unspecified address';
  if (zero(0, 7) && g[7] === 1) return 'loopback';
  if (zero(0, 5) && g[5] === 0xffff) return `IPv4-mapped IPv6 (${embeddedV4(g, 6)})`;
  if (zero(0, 6)) return `IPv4-compatible IPv6 (${embeddedV4(g, 6)})`;
  if (g[0] === 0x64 && g[1] === 0xff9b && (zero(2, 6) || g[2] === 1)) {
    return `IPv4-embedded IPv6 (NAT64, ${embeddedV4(g, 6)})`;
  }
  if (g[0] === 0x2002) return `IPv4-embedded IPv6 (6to4, ${embeddedV4(g, 1)})`;
  if (g[0] === 0x2001 && g[1] === 0) return 'IPv4-embedded IPv6 (Teredo)';
  const first = g[0] as number;
  if (first === 0xfd00 && g[1] === 0xec2 && zero(2, 7) && g[7] === 0x254) return 'cloud metadata address';
  if ((first & 0xfe00) === 0xfc00) return 'unique-local IPv6 (fc00::/7)';
  if ((first & 0xffc0) === 0xfe80) return 'link-local IPv6 (fe80::/10)';
  if ((first & 0xffc0) === 0xfec0) return 'site-local IPv6 (fec0::/10)';
  if ((first & 0xff00) === 0xff00) return 'multicast';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Names

/** Cloud metadata services reached by name. */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.internal',
  'metadata.azure.internal',
  'metadata.tencentyun.com',
  'metadata.platformequinix.com',
]);

/** Names reserved or commonly used for private networks; never public. */
const PRIVATE_SUFFIXES = ['internal', 'local', 'localdomain', 'home.arpa', 'lan', 'corp', 'home', 'intranet'];

/** The rule that refuses a host name (lower case, no trailing dot), or null. */
export function nameRule(name: string): string | null {
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback (localhost)';
  if (METADATA_NAMES.has(name)) return 'cloud metadata host name';
  if (!name.includes('.')) return 'single-label host name (only a local resolver answers it)';
  const suffix = PRIVATE_SUFFIXES.find((s) => name.endsWith(`.${s}`));
  if (suffix) return `private-use name (*.${suffix})`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// The verdict

const stripDot = (host: string) => (host.endsWith('.') ? host.slice(0, -1) : host);

/**
 * The default refusal for a URL: its host as the parser reads it, and the rule that refuses it
 * (null when none does). Refuses outright an IP address not written canonically, which no
 * exception lifts.
 */
function classify(
  url: string,
): { host: string; rule: string | null; canonical: boolean } | { error: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { error: 'must be an absolute http(s) URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { error: `must use http or https, not ${parsed.protocol.slice(0, -1)}` };
  }
  const written = writtenAuthority(url);
  if (!written.ok) return { error: written.message };
  if (hasControlOrSpace(url)) return { error: 'must not contain spaces or control characters' };
  const host = parsed.hostname;
  const isV6 = host.startsWith('[');
  const isV4 = !isV6 && IPV4.test(host);
  if ((isV4 || isV6) && written.host !== host) {
    return {
      host: written.host,
      canonical: false,
      rule: isV4
        ? `numeric host in decimal, hex, octal or shortened form (it means ${host})`
        : `IPv6 address not in canonical form (it means ${host})`,
    };
  }
  if (isV6) return { host, canonical: true, rule: ipv6Rule(host.slice(1, -1)) };
  if (isV4) return { host, canonical: true, rule: ipv4Rule(host) };
  return { host: stripDot(host), canonical: true, rule: nameRule(stripDot(host)) };
}

/** Whether a host matches an allow-list entry: exact, or `*.example.com` for any subdomain of it. */
export function hostMatches(host: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

/**
 * Whether a step may send a request to this URL under this policy. The default refusals apply
 * first (lifted only by the deployment's exceptions); then, when the tenant has an allow-list,
 * the host must be on it.
 */
export function checkEgress(url: string, policy: EgressPolicy): EgressVerdict {
  const c = classify(url);
  if ('error' in c) {
    const written = writtenAuthority(url);
    const host = written.ok ? written.host : '(none)';
    return { ok: false, host, rule: c.error, message: `URL ${c.error}` };
  }
  if (c.rule !== null) {
    const excepted = c.canonical && (policy.allowPrivate || policy.allowPrivateHosts.includes(c.host));
    if (!excepted) return deny(c.host, c.rule);
  }
  if (policy.allowedHosts.length > 0 && !policy.allowedHosts.some((p) => hostMatches(c.host, p))) {
    return deny(c.host, NOT_ON_ALLOW_LIST);
  }
  return { ok: true, host: c.host };
}

// ---------------------------------------------------------------------------------------------
// Allow-list entries

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
export const MAX_ALLOWED_HOSTS = 100;

/**
 * An exact host as an allow-list or exception entry: a DNS name (lower case, no trailing dot),
 * dotted-decimal IPv4 or bracketed IPv6, exactly as the URL parser writes it. Returns the
 * normalised entry or why it is not one.
 */
export function parseExactHost(entry: string): { ok: true; host: string } | { ok: false; message: string } {
  const text = entry.trim().toLowerCase();
  if (text === '' || text.length > 253)
    return { ok: false, message: 'must be a host name of 1-253 characters' };
  let parsed: URL;
  try {
    parsed = new URL(`http://${text}/`);
  } catch {
    return { ok: false, message: `"${entry}" is not a host name` };
  }
  if (parsed.hostname !== text || parsed.port !== '' || parsed.pathname !== '/' || parsed.username) {
    return {
      ok: false,
      message: `"${entry}" must be a bare host as a URL writes it (no scheme, port or path)`,
    };
  }
  if (!text.startsWith('[') && !IPV4.test(text) && !text.split('.').every((l) => LABEL.test(l))) {
    return { ok: false, message: `"${entry}" is not a host name (letters, digits, - and . only)` };
  }
  return { ok: true, host: text };
}

/** An allow-list entry: an exact host (see parseExactHost) or `*.` and a name with at least one dot. */
export function parseHostPattern(entry: string): { ok: true; host: string } | { ok: false; message: string } {
  const text = entry.trim().toLowerCase();
  if (!text.startsWith('*.')) return parseExactHost(text);
  const rest = parseExactHost(text.slice(2));
  if (!rest.ok) return rest;
  if (!rest.host.includes('.') || rest.host.startsWith('[') || IPV4.test(rest.host)) {
    return { ok: false, message: `"${entry}" is too broad: a wildcard needs a domain such as *.example.com` };
  }
  return { ok: true, host: `*.${rest.host}` };
}
