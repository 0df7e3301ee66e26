// The layer rules (biome.json's overrides) and the per-runtime type checks refuse what they say
// they refuse: each case lints or type-checks one wrong file placed in a layer, and a right one
// passes. The real tree is checked by `npm run lint` and `npm run typecheck`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');

// Lint probes live in a copy of the repository's Biome setup outside the tree, at the path they
// stand for, so nothing is ever written into src/ (where wrangler dev or the linter would see it).
const lintRoot = mkdtempSync(join(tmpdir(), 'changeflow-layers-'));
copyFileSync(join(ROOT, 'biome.json'), join(lintRoot, 'biome.json'));
copyFileSync(join(ROOT, '.gitignore'), join(lintRoot, '.gitignore'));
after(() => rmSync(lintRoot, { recursive: true, force: true }));

/** The lint rules Biome reports for `source` as the file at `path`. */
function lint(path, source) {
  const file = join(lintRoot, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, source);
  try {
    const run = spawnSync(join(BIN, 'biome'), ['lint', '--max-diagnostics=50', path], {
      cwd: lintRoot,
      encoding: 'utf8',
    });
    return [...`${run.stdout}${run.stderr}`.matchAll(/lint\/\w+\/(\w+)/g)].map((m) => m[1]);
  } finally {
    rmSync(file);
  }
}

const refused = [
  [
    'src/domain/x.ts',
    "import { getChange } from '../db/changes';\nexport const f = getChange;\n",
    'domain → db',
  ],
  [
    'src/domain/x.ts',
    "import { paginate } from '../usecases/changes/queries';\nexport const f = paginate;\n",
    'domain → use cases',
  ],
  [
    'src/db/x.ts',
    "import type { AuthedContext } from '../usecases/context';\nexport type C = AuthedContext;\n",
    'db → use cases',
  ],
  [
    'src/engine/x.ts',
    "import { commitWithAudit } from '../usecases/commit';\nexport const f = commitWithAudit;\n",
    'engine → use cases',
  ],
  [
    'src/usecases/changes/x.ts',
    "import { schema } from '../../schema';\nexport const s = schema;\n",
    'use cases → schema',
  ],
  [
    'src/usecases/x.ts',
    "import { createApp } from '../http/app';\nexport const f = createApp;\n",
    'use cases → http',
  ],
  [
    'src/schema/x.ts',
    "import { createApp } from '../http/app';\nexport const f = createApp;\n",
    'schema → http',
  ],
  [
    'src/http/x.ts',
    "import { workerPorts } from '../runtime/worker/ports';\nexport const p = workerPorts;\n",
    'core → Worker adapter',
  ],
  [
    'src/mcp/x.ts',
    "import { openSqliteD1 } from '../runtime/node/sqlite';\nexport const f = openSqliteD1;\n",
    'core → Node adapter',
  ],
  [
    'src/http/x.ts',
    "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
    'core → node:*',
  ],
  [
    'src/engine/x.ts',
    "import { DurableObject } from 'cloudflare:workers';\nexport const D = DurableObject;\n",
    'core → cloudflare:*',
  ],
  [
    'src/runtime/worker/x.ts',
    "import { openSqliteD1 } from '../node/sqlite';\nexport const f = openSqliteD1;\n",
    'Worker → Node adapter',
  ],
  [
    'src/runtime/node/x.ts',
    "import { DurableObject } from 'cloudflare:workers';\nexport const D = DurableObject;\n",
    'Node → cloudflare:*',
  ],
];

for (const [path, source, what] of refused) {
  test(`Biome refuses ${what} (${path})`, () => {
    assert.deepEqual(lint(path, source), ['noRestrictedImports']);
  });
}

test('Biome refuses process and Buffer in the core, and allows them in the Node adapter', () => {
  const source = "export const a = process.env.A;\nexport const b = Buffer.from('x');\n";
  assert.deepEqual(lint('src/usecases/x.ts', source), ['noRestrictedGlobals', 'noRestrictedGlobals']);
  assert.deepEqual(lint('src/runtime/node/x.ts', source), []);
});

test('imports that go down the layers pass', () => {
  assert.deepEqual(
    lint('src/usecases/x.ts', "import { getChange } from '../db/changes';\nexport const f = getChange;\n"),
    [],
  );
  assert.deepEqual(
    lint(
      'src/runtime/worker/x.ts',
      "import { createApp } from '../../http/app';\nexport const f = createApp;\n",
    ),
    [],
  );
});

// Type checks: a scratch folder inside the repository (tmp/ is git-ignored) so that the configs'
// type packages resolve from node_modules as they do for src/.
mkdirSync(join(ROOT, 'tmp'), { recursive: true });
const scratch = mkdtempSync(join(ROOT, 'tmp', 'layers-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** tsc's error codes for `source` checked under `config` (one of the repository's tsconfigs). */
function typecheck(config, name, source) {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'probe.ts'), source);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: relative(dir, join(ROOT, config)), include: ['probe.ts'] }),
  );
  const run = spawnSync(join(BIN, 'tsc'), ['-p', dir], { cwd: ROOT, encoding: 'utf8' });
  return [...run.stdout.matchAll(/error (TS\d+)/g)].map((m) => m[1]);
}

test('the Worker config cannot see Node modules; the Node config cannot see Worker globals', () => {
  assert.deepEqual(
    typecheck(
      'tsconfig.worker.json',
      'worker-sees-node',
      "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
    ),
    ['TS2591'],
  );
  assert.deepEqual(
    typecheck(
      'tsconfig.node.json',
      'node-sees-worker',
      'export const c: DurableObjectState | null = null;\n',
    ),
    ['TS2304'],
  );
  // The control: what each runtime does have.
  assert.deepEqual(
    typecheck('tsconfig.worker.json', 'worker-ok', 'export const c: DurableObjectState | null = null;\n'),
    [],
  );
  assert.deepEqual(
    typecheck(
      'tsconfig.node.json',
      'node-ok',
      "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
    ),
    [],
  );
});
