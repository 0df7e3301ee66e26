import { describe, expect, it } from 'vitest';
import committed from '../../docs/configuration.md?raw';
import { configurationDoc } from '../../scripts/configTable';
import { VARIABLES, type VariableSpec } from '../../src/config';

describe('docs/configuration.md', () => {
  it('matches the variables src/config.ts reads (run `npm run codegen` and commit it)', () => {
    expect(configurationDoc()).toBe(committed);
  });

  it('has one row per variable, with its runtimes', () => {
    const rows = committed.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.map((r) => /^\| `([A-Z0-9_]+)`/.exec(r)?.[1])).toEqual(VARIABLES.map((v) => v.name));
    const row = (name: string) => rows.find((r) => r.startsWith(`| \`${name}\``));
    // The hub's pings and the watchdog are the Worker's; both runtimes run executions (breakers,
    // cancels, gates), and the Node runtime's webhook deliveries share the breakers.
    for (const name of ['HUB_PING_INTERVAL_MS', 'EXECUTION_NUDGE_AFTER_MS']) {
      expect(row(name)).toMatch(/\| Worker \| Tuning: /);
    }
    for (const name of [
      'BREAKER_FAILURE_THRESHOLD',
      'BREAKER_COOLDOWN_MS',
      'EXECUTION_CANCEL_POLL_MS',
      'EXECUTION_GATE_POLL_MS',
    ]) {
      expect(row(name)).toMatch(/\| Worker, Node \| Tuning: /);
    }
  });

  it("never prints a secret's value, even one given a default", () => {
    const leaky: VariableSpec = {
      name: 'SOME_KEY',
      type: 'key',
      default: 'hunter2-do-not-print',
      defaultText: 'also hunter2-do-not-print',
      runtimes: ['worker'],
      description: 'a key',
      secret: true,
    };
    const doc = configurationDoc([leaky]);
    expect(doc).toContain('| `SOME_KEY` | — (secret) | Worker | a key |');
    expect(doc).not.toContain('hunter2');
  });
});
