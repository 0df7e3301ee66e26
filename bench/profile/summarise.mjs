// Reads a V8 .cpuprofile (from bench/profile.mjs or `node --cpu-prof`) and says where the CPU went:
// time by owner (our src/ files, each npm package, Node internals, GC) and by function, both raw
// (self time) and with native and Node-internal work folded into the JavaScript that asked for it.
//
//   node bench/profile/summarise.mjs <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** @typedef {import('node:inspector').Profiler.Profile} Profile */
/** @typedef {import('node:inspector').Profiler.ProfileNode} ProfileNode */
/** @typedef {import('node:inspector').Runtime.CallFrame} CallFrame */
/** @typedef {{ name: string, ms: number, usPerRequest: number, pct: number }} Entry */

/**
 * Who a frame belongs to: `src/http/app.ts`, an npm package, Node itself, or V8's own entries.
 * @param {string} url
 * @param {string} functionName
 */
export function ownerOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node: internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const [scope = '', name = ''] = path.slice(nm + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (path.startsWith(ROOT)) return path.slice(ROOT.length);
  return path;
}

const frameKey = (/** @type {CallFrame} */ cf) =>
  `${cf.functionName || '(anonymous)'} · ${ownerOf(cf.url, cf.functionName)}`;

/** Frames that do work on behalf of their JavaScript caller: V8 builtins, native addons, Node's own JS. */
const isPlumbing = (/** @type {string} */ owner) =>
  owner === '(native / V8 builtins)' || owner === 'node: internals';

/**
 * Where the CPU of a profile went. Stacks in a V8 profile are synchronous (an `await` cuts them),
 * so inclusive time per file would be misleading; instead each sample's self time is also
 * *folded* into its nearest caller that is neither V8/native nor Node's internal JavaScript: the
 * HMAC run natively for jose counts for jose's verifySignature, the Web Streams made for our body
 * limit count for limitBody. `requests` turns totals into µs per request.
 * @param {Profile} profile
 * @param {{ top?: number, requests?: number }} [options]
 */
export function summarise(profile, { top = 25, requests = 1 } = {}) {
  /** @type {Map<number, ProfileNode>} */
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  /** The call frame of node `id` (every sample and parent names a node of the profile). */
  const frame = (/** @type {number} */ id) => {
    const node = nodes.get(id);
    if (!node) throw new Error(`the profile has no node ${id}`);
    return node.callFrame;
  };
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** @type {Map<string, number>} */
  const selfByFrame = new Map();
  /** @type {Map<string, number>} */
  const selfByOwner = new Map();
  /** @type {Map<string, number>} */
  const foldedByFrame = new Map();
  /** @type {Map<string, number>} */
  const foldedByOwner = new Map();
  /** @type {Map<string, number>} */
  const inclusiveOurs = new Map();
  /** @type {(m: Map<string, number>, k: string, v: number) => void} */
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  let idle = 0;
  (profile.samples ?? []).forEach((id, i) => {
    const dt = profile.timeDeltas?.[i] ?? 0;
    const cf = frame(id);
    if (cf.functionName === '(idle)') {
      idle += dt;
      return;
    }
    total += dt;
    const owner = ownerOf(cf.url, cf.functionName);
    add(selfByFrame, frameKey(cf), dt);
    add(selfByOwner, owner, dt);
    let at = id;
    while (isPlumbing(ownerOf(frame(at).url, frame(at).functionName))) {
      const up = parent.get(at);
      if (up === undefined || frame(up).functionName === '(root)') break;
      at = up;
    }
    // Our own functions with everything they called synchronously (an await ends the stack, so
    // this undercounts async functions; it is exact for synchronous work like validation).
    const seen = new Set();
    for (let n = /** @type {number | undefined} */ (id); n !== undefined; n = parent.get(n)) {
      const f = frame(n);
      const key = frameKey(f);
      if (ownerOf(f.url, f.functionName).startsWith('src/') && !seen.has(key)) {
        seen.add(key);
        add(inclusiveOurs, key, dt);
      }
    }
    const caller = frame(at);
    add(foldedByFrame, frameKey(caller), dt);
    add(foldedByOwner, ownerOf(caller.url, caller.functionName), dt);
  });
  /** @type {(m: Map<string, number>) => Entry[]} */
  const list = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, usPerRequest: us / requests, pct: (100 * us) / total }));
  return {
    requests,
    busyMs: total / 1000,
    idleMs: idle / 1000,
    usPerRequest: total / requests,
    foldedByOwner: list(foldedByOwner),
    foldedByFrame: list(foldedByFrame),
    inclusiveOurs: list(inclusiveOurs),
    selfByOwner: list(selfByOwner),
    selfByFrame: list(selfByFrame),
  };
}

/**
 * @param {string} title
 * @param {ReturnType<typeof summarise>} s
 * @param {(line: string) => void} [write]
 */
export function printSummary(title, s, write = (l) => process.stderr.write(`${l}\n`)) {
  const row = (/** @type {Entry} */ x) =>
    `    ${x.pct.toFixed(1).padStart(5)}%  ${x.usPerRequest.toFixed(0).padStart(6)} µs/req  ${x.name}`;
  write(`\n${title}`);
  write(
    `  ${s.requests} requests, ${s.busyMs.toFixed(0)} ms on CPU (${s.usPerRequest.toFixed(0)} µs per request),` +
      ` ${s.idleMs.toFixed(0)} ms idle`,
  );
  write('  by owner, native and Node-internal work folded into its JavaScript caller:');
  for (const x of s.foldedByOwner) write(row(x));
  write('  by function, folded likewise:');
  for (const x of s.foldedByFrame) write(row(x));
  write('  our functions, inclusive of what they call synchronously (awaits cut this short):');
  for (const x of s.inclusiveOurs) write(row(x));
  write('  raw self time by owner:');
  for (const x of s.selfByOwner.slice(0, 12)) write(row(x));
  write('  raw self time by function:');
  for (const x of s.selfByFrame.slice(0, 15)) write(row(x));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: summarise.mjs <file.cpuprofile> [--top 25]');
  const top = process.argv[3] === '--top' ? Number(process.argv[4]) : 25;
  printSummary(file, summarise(JSON.parse(readFileSync(file, 'utf8')), { top }), console.log);
}
