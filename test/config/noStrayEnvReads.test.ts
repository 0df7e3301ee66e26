/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';
import { CONFIG_VARS } from '../../src/config';
import wranglerToml from '../../wrangler.toml?raw';

/**
 * src/config.ts owns every environment variable: nothing else in src/ reads one by name (not
 * `process.env.X`, not a Worker var off `env`, not a destructured or bracketed name). Everything
 * else takes the parsed Config. Worker *bindings* (DB, HUB, …: wrangler.toml) are not variables.
 */
const SOURCES = import.meta.glob<string>('../../src/**/*.{ts,mts,mjs}', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/**
 * The token and dev scripts' helper (run by plain `node`, without TypeScript, so it cannot import
 * src/config.ts): it reads .dev.vars, and ENVIRONMENT and JWT_MAX_TTL to mint a token the server
 * will accept. It serves no request.
 */
const ALLOWED = new Map([['src/runtime/node/devVars.mjs', ['ENVIRONMENT', 'JWT_MAX_TTL']]]);

/** The Worker's bindings, as wrangler.toml names them. */
const BINDINGS = new Set(
  [...wranglerToml.matchAll(/^\s*(?:binding|name)\s*=\s*"([A-Z][A-Z0-9_]*)"/gm)].map((m) => m[1] as string),
);

const withoutComments = (source: string) =>
  source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

/** Every read of an environment variable by name in `source`. */
function envReads(source: string): string[] {
  const code = withoutComments(source);
  const found: string[] = [];
  for (const m of code.matchAll(/process\.env\s*(?:\?\.)?\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*([^\]]+)\])/g)) {
    found.push(m[1] ?? m[2] ?? 'process.env');
  }
  for (const m of code.matchAll(/\benv\s*\??\.\s*([A-Z][A-Z0-9_]*)\b/g)) {
    if (!BINDINGS.has(m[1] as string)) found.push(m[1] as string);
  }
  for (const name of CONFIG_VARS) {
    const read = new RegExp(
      `(?:\\??\\.\\s*${name}\\b|\\[\\s*['"\`]${name}['"\`]\\s*\\]|\\{[^{}]*\\b${name}\\b[^{}]*\\}\\s*=(?!=))`,
      'g',
    );
    if (read.test(code)) found.push(name);
  }
  return [...new Set(found)];
}

describe('environment variables are read in src/config.ts only', () => {
  it('the scan sees the reads it must refuse, and not bindings or messages', () => {
    expect(envReads('const ms = Number(this.env.HUB_PING_INTERVAL_MS) || 1;')).toEqual([
      'HUB_PING_INTERVAL_MS',
    ]);
    expect(envReads('const p = process.env.CHANGEFLOW_PORT;')).toEqual(['CHANGEFLOW_PORT']);
    expect(envReads("const k = vars['SECRETS_KEY'];")).toEqual(['SECRETS_KEY']);
    expect(envReads('const { JWT_SECRET } = env;')).toEqual(['JWT_SECRET']);
    expect(envReads('const { DB, SECRETS_KEY: key } = this.env;')).toEqual(['SECRETS_KEY']);
    expect(envReads('const USAGE = `from the environment: JWT_SECRET, ENVIRONMENT, CORS_ORIGINS`;')).toEqual(
      [],
    );
    expect(envReads('if (env.SOMETHING_NEW) go();')).toEqual(['SOMETHING_NEW']);
    expect(envReads('const row = await env.DB.prepare(sql); env.HUB.get(id);')).toEqual([]);
    expect(envReads("throw new Error('set JWT_SECRET'); // env.JWT_SECRET\nf(process.env);")).toEqual([]);
  });

  it('wrangler.toml names the bindings the scan lets through', () => {
    expect([...BINDINGS].sort()).toEqual(
      [
        'ASSETS',
        'AUDIT_ARCHIVE',
        'BREAKERS',
        'DB',
        'EXECUTOR',
        'HUB',
        'METRICS',
        'RATE_LIMITER',
        'TENANT_LOCKS',
      ].sort(),
    );
  });

  it('no file under src/ but config.ts reads a variable by name', () => {
    const paths = Object.keys(SOURCES);
    expect(paths.length).toBeGreaterThan(100);
    const strays: Record<string, string[]> = {};
    for (const [path, source] of Object.entries(SOURCES)) {
      const file = path.replace(/^(\.\.\/)+/, '');
      if (file === 'src/config.ts') continue;
      const allowed = ALLOWED.get(file) ?? [];
      const reads = envReads(source).filter((name) => !allowed.includes(name));
      if (reads.length) strays[file] = reads;
    }
    expect(strays).toEqual({});
  });

  it('every variable wrangler.toml sets is one config.ts knows', () => {
    const vars = new Set<string>();
    for (const section of wranglerToml.split(/^\[/m).filter((s) => /^(env\.\w+\.)?vars\]/.test(s))) {
      for (const m of section.matchAll(/^([A-Z][A-Z0-9_]*)\s*=/gm)) vars.add(m[1] as string);
    }
    expect(vars.size).toBeGreaterThan(0);
    for (const name of vars) expect(CONFIG_VARS).toContain(name);
  });
});
