// Reads a V8 .cpuprofile (from bench/profile.mjs or `node --cpu-prof`) and says where the CPU went:
// time by owner (our src/ files, each npm package, Node internals, GC) and by function, both raw
// (self time) and with native and Node-internal work folded into the JavaScript that asked for it.
//
//   node bench/profile/summarise.mjs <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Who a frame belongs to: `src/http/app.ts`, an npm package, Node itself, or V8's own entries. */
export function ownerOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node: internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith(ROOT)) return path.slice(ROOT.length);
  return path;
}

const frameKey = (cf) => `${cf.functionName || '(anonymous)'} · ${ownerOf(cf.url, cf.functionName)}`;

/** Frames that do work on behalf of their JavaScript caller: V8 builtins, native addons, Node's own JS. */
const isPlumbing = (owner) => owner === '(native / V8 builtins)' || owner === 'node: internals';

/**
 * Where the CPU of a profile went. Stacks in a V8 profile are synchronous (an `await` cuts them),
 * so inclusive time per file would be misleading; instead each sample's self time is also
 * *folded* into its nearest caller that is neither V8/native nor Node's internal JavaScript: the
 * HMAC run natively for jose counts for jose's verifySignature, the Web Streams made for our body
 * limit count for limitBody. `requests` turns totals into µs per request.
 */
export function summarise(profile, { top = 25, requests = 1 } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfByFrame = new Map();
  const selfByOwner = new Map();
  const foldedByFrame = new Map();
  const foldedByOwner = new Map();
  const inclusiveOurs = new Map();
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const cf = nodes.get(id).callFrame;
    if (cf.functionName === '(idle)') {
      idle += dt;
      return;
    }
    total += dt;
    const owner = ownerOf(cf.url, cf.functionName);
    add(selfByFrame, frameKey(cf), dt);
    add(selfByOwner, owner, dt);
    let at = id;
    while (isPlumbing(ownerOf(nodes.get(at).callFrame.url, nodes.get(at).callFrame.functionName))) {
      const up = parent.get(at);
      if (up === undefined || nodes.get(up).callFrame.functionName === '(root)') break;
      at = up;
    }
    // Our own functions with everything they called synchronously (an await ends the stack, so
    // this undercounts async functions; it is exact for synchronous work like validation).
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const f = nodes.get(n).callFrame;
      const key = frameKey(f);
      if (ownerOf(f.url, f.functionName).startsWith('src/') && !seen.has(key)) {
        seen.add(key);
        add(inclusiveOurs, key, dt);
      }
    }
    const caller = nodes.get(at).callFrame;
    add(foldedByFrame, frameKey(caller), dt);
    add(foldedByOwner, ownerOf(caller.url, caller.functionName), dt);
  });
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

export function printSummary(title, s, write = (l) => process.stderr.write(`${l}\n`)) {
  const row = (x) =>
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
  const top = process.argv[3] === '--top' ? Number(process.argv[4]) : 25;
  printSummary(file, summarise(JSON.parse(readFileSync(file, 'utf8')), { top }), console.log);
}
