// The text of docs/configuration.md, from src/config.ts' VARIABLES: written by scripts/docsConfig.ts
// (`npm run codegen`), compared by test/config/configurationDoc.test.ts. Pure, so the test runs it in workerd.
import { type Runtime, VARIABLES, type VariableSpec } from '../src/config';

export const CONFIGURATION_DOC_PATH = 'docs/configuration.md';

const RUNTIME_NAMES: Record<Runtime, string> = { worker: 'Worker', node: 'Node' };

/** A table cell: one line, no column separator. */
const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');

/** A secret's default is never printed (there is none, but a future one must not leak here either). */
function defaultOf(v: VariableSpec): string {
  if (v.secret) return '— (secret)';
  if (v.defaultText) return v.defaultText;
  return v.default === null ? '—' : `\`${v.default}\``;
}

export function configurationDoc(variables: readonly VariableSpec[] = VARIABLES): string {
  const rows = variables.map(
    (v) =>
      `| \`${v.name}\` | ${cell(defaultOf(v))} | ${v.runtimes.map((r) => RUNTIME_NAMES[r]).join(', ')} | ${cell(v.description)} |`,
  );
  return `# Configuration

<!-- Generated from VARIABLES in src/config.ts by \`npm run codegen\`; do not edit by hand. -->

ChangeFlow is configured by environment variables: Worker vars and secrets (\`wrangler.toml\`,
\`wrangler secret put\`, \`.dev.vars\` locally) or the Node runtime's process environment. Every
variable is read and validated in one place, \`parseConfig\` in \`src/config.ts\`, once per set of
values: the Worker, its Durable Objects and the Workflow engine share that parse. An invalid value
is refused with a message that names the variable: the API answers every route with HTTP 503
\`CONFIG_INVALID\` (with \`variables\` listing them) until it is fixed, and the Node runtime does not
start. A blank value counts as unset. Secrets' values are never printed.

*Runtimes*: **Worker** is the Cloudflare deployment (\`npm start\` runs it locally), **Node** the
Node runtime (\`npm run serve:node\`), where command-line flags win over \`CHANGEFLOW_*\` variables.
Variables marked *Tuning* are for tests and measurements; the defaults are what production runs.

| variable | default | runtimes | description |
|---|---|---|---|
${rows.join('\n')}
`;
}
