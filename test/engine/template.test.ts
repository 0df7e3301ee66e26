import { describe, expect, it } from 'vitest';
import type { TemplateScope } from '../../src/engine/template';
import { redactSecrets, renderTemplate } from '../../src/engine/template';

const scope: TemplateScope = {
  inputs: {
    env: 'prod',
    count: 3,
    flag: true,
    tags: ['a', 'b'],
    note: 'say "hi"\n',
    path: 'a/b?c=1',
    none: null,
  },
  steps: { create: { body: { id: 'CHG-1', items: [{ name: 'api' }] } } },
  secrets: { API_TOKEN: 's3cr3t-token', OTHER: 'unused-secret' },
};

function ok(
  template: string,
  context?: 'text' | 'url' | 'header' | 'json' | 'form',
  s: TemplateScope = scope,
) {
  const r = renderTemplate(template, s, { context });
  if (!r.ok) throw new Error(r.error.message);
  return r;
}

function err(
  template: string,
  context?: 'text' | 'url' | 'header' | 'json' | 'form',
  s: TemplateScope = scope,
) {
  const r = renderTemplate(template, s, { context });
  if (r.ok) throw new Error(`expected an error, got ${r.value}`);
  return r.error;
}

describe('renderTemplate', () => {
  it('substitutes inputs and step outputs, with or without spaces', () => {
    expect(
      ok('env={{ inputs.env }} id={{steps.create.body.id}} n={{ steps.create.body.items[0].name }}').value,
    ).toBe('env=prod id=CHG-1 n=api');
  });

  it('renders non-strings as their JSON text', () => {
    expect(ok('{{ inputs.count }} {{ inputs.flag }} {{ inputs.none }} {{ inputs.tags }}').value).toBe(
      '3 true null ["a","b"]',
    );
  });

  it('leaves text without placeholders and an unclosed {{ alone', () => {
    expect(ok('plain { text } {{ no close').value).toBe('plain { text } {{ no close');
    expect(ok('').value).toBe('');
  });

  it('names a missing path', () => {
    expect(err('x={{ steps.create.body.missing }}')).toEqual({
      code: 'EXECUTION-004',
      path: 'steps.create.body.missing',
      message: 'unknown path steps.create.body.missing: no "missing" at steps.create.body',
    });
    expect(err('{{ steps.other.body }}').path).toBe('steps.other.body');
    expect(err('{{ inputs.env }}', 'text', {}).message).toContain('no "inputs"');
  });

  it('rejects invalid placeholders and unknown roots', () => {
    expect(err('{{ env }}').message).toContain('must start with inputs, steps, secrets');
    expect(err('{{ inputs.a + 1 }}').message).toContain('invalid placeholder');
    expect(err('{{ }}').code).toBe('EXECUTION-004');
    expect(err('{{ inputs.__proto__ }}').code).toBe('EXECUTION-004');
    expect(err('{{ inputs.env.constructor }}').code).toBe('EXECUTION-004');
  });

  it('looks secrets up by name and reports which were used, never their values', () => {
    const r = ok('Bearer {{ secrets.API_TOKEN }} / {{ secrets.API_TOKEN }}', 'header');
    expect(r.value).toBe('Bearer s3cr3t-token / s3cr3t-token');
    expect(r.redacted).toBe('Bearer [REDACTED:API_TOKEN] / [REDACTED:API_TOKEN]');
    expect(r.secretsUsed).toEqual(['API_TOKEN']);
    expect(ok('{{ inputs.env }}').secretsUsed).toEqual([]);
  });

  it('names a missing or malformed secret without leaking others', () => {
    const missing = err('{{ secrets.NOPE }}');
    expect(missing).toMatchObject({ path: 'secrets.NOPE', message: 'unknown secret NOPE' });
    expect(err('{{ secrets.toString }}').message).toBe('unknown secret toString');
    expect(err('{{ secrets.API_TOKEN.x }}').message).toContain('use secrets.NAME');
    expect(err('{{ secrets.API_TOKEN }}', 'text', { inputs: {} }).path).toBe('secrets.API_TOKEN');
  });

  it('percent-encodes values in url context', () => {
    expect(ok('https://api.test/items/{{ inputs.path }}?env={{ inputs.env }}', 'url').value).toBe(
      'https://api.test/items/a%2Fb%3Fc%3D1?env=prod',
    );
  });

  it('keeps a url value one segment or one query value, whatever it holds', () => {
    const attack: TemplateScope = {
      inputs: { up: '../../admin', q: 'x&role=admin#frag', hostish: '@evil.example/x', dots: '..', dot: '.' },
    };
    const r = ok(
      'https://api.test/v1/{{ inputs.up }}/{{ inputs.hostish }}?a={{ inputs.q }}&b=1',
      'url',
      attack,
    ).value;
    expect(r).toBe('https://api.test/v1/..%2F..%2Fadmin/%40evil.example%2Fx?a=x%26role%3Dadmin%23frag&b=1');
    const u = new URL(r);
    expect(u.host).toBe('api.test');
    expect(u.pathname).toBe('/v1/..%2F..%2Fadmin/%40evil.example%2Fx');
    expect([...u.searchParams]).toEqual([
      ['a', 'x&role=admin#frag'],
      ['b', '1'],
    ]);
    // A value that is, or completes, a whole "." or ".." segment would move the request up the path.
    expect(err('https://api.test/v1/{{ inputs.dots }}/x', 'url', attack)).toMatchObject({
      path: 'inputs.dots',
    });
    expect(err('https://api.test/v1/.{{ inputs.dot }}', 'url', attack)).toMatchObject({ path: 'inputs.dot' });
    expect(err('https://api.test/v1/{{ inputs.dot }}{{ inputs.dot }}/', 'url', attack).path).toBe(
      'inputs.dot',
    );
    expect(err('https://api.test\\{{ inputs.dots }}', 'url', attack).path).toBe('inputs.dots');
    // Inside a segment, or in the query, dots are just text; the template's own dots are the author's.
    expect(ok('https://api.test/v{{ inputs.dots }}/x?p={{ inputs.dots }}', 'url', attack).value).toBe(
      'https://api.test/v../x?p=..',
    );
    expect(ok('https://api.test/a/../{{ inputs.dot }}x', 'url', attack).value).toBe(
      'https://api.test/a/../.x',
    );
  });

  it('form-encodes values in form context, so that a value cannot add a parameter', () => {
    const r = ok('name={{ inputs.who }}&role=viewer', 'form', { inputs: { who: 'x&role=admin =+%' } }).value;
    expect(r).toBe('name=x%26role%3Dadmin+%3D%2B%25&role=viewer');
    expect([...new URLSearchParams(r)]).toEqual([
      ['name', 'x&role=admin =+%'],
      ['role', 'viewer'],
    ]);
  });

  it('refuses line breaks in header context', () => {
    expect(err('X-Note: {{ inputs.note }}', 'header')).toMatchObject({ path: 'inputs.note' });
    expect(ok('X-Note: {{ inputs.note }}', 'text').value).toBe('X-Note: say "hi"\n');
  });

  describe('json context', () => {
    it('inserts typed JSON outside strings and escaped text inside them', () => {
      const r = ok(
        '{"id": "{{ steps.create.body.id }}", "n": {{ inputs.count }}, "tags": {{ inputs.tags }}, ' +
          '"note": "Note: {{ inputs.note }}", "count": "{{ inputs.count }}", ' +
          '"auth": "Bearer {{ secrets.API_TOKEN }}"}',
        'json',
      );
      expect(JSON.parse(r.value)).toEqual({
        id: 'CHG-1',
        n: 3,
        tags: ['a', 'b'],
        note: 'Note: say "hi"\n',
        count: '3',
        auth: 'Bearer s3cr3t-token',
      });
      expect(JSON.parse(r.redacted).auth).toBe('Bearer [REDACTED:API_TOKEN]');
      expect(r.redacted).not.toContain('s3cr3t');
      expect(r.secretsUsed).toEqual(['API_TOKEN']);
    });

    it('cannot be broken out of a string by a hostile value', () => {
      const hostile = { inputs: { v: '", "admin": true, "x": "' } };
      const r = ok('{"name": "{{ inputs.v }}"}', 'json', hostile);
      expect(JSON.parse(r.value)).toEqual({ name: '", "admin": true, "x": "' });
    });

    it('keeps escaped quotes in the template from confusing string tracking', () => {
      const r = ok('{"a": "x\\"{{ inputs.env }}", "b": {{ inputs.count }}}', 'json');
      expect(JSON.parse(r.value)).toEqual({ a: 'x"prod', b: 3 });
    });

    it('inserts a secret outside a string as a JSON string', () => {
      const r = ok('{"token": {{ secrets.API_TOKEN }}}', 'json');
      expect(JSON.parse(r.value)).toEqual({ token: 's3cr3t-token' });
      expect(JSON.parse(r.redacted)).toEqual({ token: '[REDACTED:API_TOKEN]' });
    });

    it('rejects a rendering that is not valid JSON', () => {
      expect(err('{"a": {{ inputs.env }', 'json')).toMatchObject({ path: '(template)' });
      expect(err('{"a": 1,}', 'json').message).toContain('not valid JSON');
    });
  });
});

describe('redactSecrets', () => {
  it('scrubs raw, JSON-escaped and percent-encoded secret values', () => {
    const secrets = { A: 'p@ss/"w"', B: 'tok' };
    const text = `raw p@ss/"w" json p@ss/\\"w\\" url ${encodeURIComponent('p@ss/"w"')} tok`;
    expect(redactSecrets(text, secrets)).toBe(
      'raw [REDACTED:A] json [REDACTED:A] url [REDACTED:A] [REDACTED:B]',
    );
    expect(redactSecrets('nothing here', { E: '' })).toBe('nothing here');
  });
});
