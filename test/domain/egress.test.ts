import { describe, expect, it } from 'vitest';
import {
  checkEgress,
  describeEgress,
  type EgressPolicy,
  hasControlOrSpace,
  hostMatches,
  ipv6Rule,
  NOT_ON_ALLOW_LIST,
  parseExactHost,
  parseHostPattern,
  templatedAuthority,
  writtenAuthority,
} from '../../src/domain/egress';
import { BLOCKED } from '../helpers/egressForms';

const strict: EgressPolicy = { allowPrivate: false, allowPrivateHosts: [], allowedHosts: [] };
const refused = (url: string, policy: EgressPolicy = strict) => {
  const v = checkEgress(url, policy);
  if (v.ok) throw new Error(`expected ${url} to be refused`);
  return v;
};

describe('egress: the default refusals', () => {
  it.each(BLOCKED)('refuses %s as %s (%s)', (url, host, rule) => {
    const v = refused(url);
    expect(v.host).toBe(host);
    expect(v.rule).toContain(rule);
    expect(v.message).toBe(`host ${host} is refused: ${v.rule}`);
  });

  it.each([
    'https://api.example.com/v1',
    'https://API.Example.com:8443/x?y=1',
    'http://8.8.8.8/',
    'http://[2606:4700:4700::1111]/',
    'https://bücher.example/',
    'https://example.com./',
  ])('allows %s', (url) => {
    expect(checkEgress(url, strict).ok).toBe(true);
  });

  it('refuses what is not an http(s) URL, naming the rule', () => {
    expect(refused('ftp://example.com/').rule).toMatch(/http or https/);
    expect(refused('http:example.com/').rule).toBe('must start with http:// or https://');
    expect(refused('http://exa\tmple.com/').rule).toMatch(/control characters/);
  });
});

describe('egress: the deployment exceptions', () => {
  it('EGRESS_ALLOW_PRIVATE_HOSTS excepts exactly the listed host, as written canonically', () => {
    const policy = { ...strict, allowPrivateHosts: ['127.0.0.1', 'billing.internal'] };
    expect(checkEgress('http://127.0.0.1:9999/ok', policy)).toEqual({ ok: true, host: '127.0.0.1' });
    expect(checkEgress('http://billing.internal/', policy).ok).toBe(true);
    for (const url of [
      'http://localhost:9999/',
      'http://127.0.0.2/',
      'http://[::1]/',
      'http://0x7f000001/',
      'http://127.1/',
      'http://2130706433/',
    ]) {
      expect(checkEgress(url, policy).ok, url).toBe(false);
    }
  });

  it('EGRESS_ALLOW_PRIVATE lifts the default refusals but never the numeric tricks', () => {
    const policy = { ...strict, allowPrivate: true };
    expect(checkEgress('http://localhost:8787/', policy).ok).toBe(true);
    expect(checkEgress('http://169.254.169.254/', policy).ok).toBe(true);
    expect(refused('http://0x7f000001/', policy).rule).toMatch(/numeric host/);
  });
});

describe('egress: the tenant allow-list', () => {
  const policy = { ...strict, allowedHosts: ['api.example.com', '*.deploy.example.net'] };
  it('allows only listed hosts; a wildcard is any subdomain, not the domain itself', () => {
    expect(checkEgress('https://api.example.com/x', policy).ok).toBe(true);
    expect(checkEgress('https://eu.deploy.example.net/x', policy).ok).toBe(true);
    expect(checkEgress('https://a.b.deploy.example.net/x', policy).ok).toBe(true);
    for (const url of [
      'https://deploy.example.net/',
      'https://evil-deploy.example.net/',
      'https://api.example.com.attacker.example/',
      'https://example.com/',
    ]) {
      const v = refused(url, policy);
      expect(v.rule, url).toBe(NOT_ON_ALLOW_LIST);
      expect(v.message).toContain(new URL(url).hostname);
    }
  });

  it('does not override the default refusals', () => {
    expect(refused('http://10.0.0.1/', { ...strict, allowedHosts: ['10.0.0.1'] }).rule).toBe(
      'private (RFC 1918)',
    );
  });

  it('matches patterns only on label boundaries', () => {
    expect(hostMatches('x.example.com', '*.example.com')).toBe(true);
    expect(hostMatches('xexample.com', '*.example.com')).toBe(false);
    expect(hostMatches('.example.com', '*.example.com')).toBe(false);
  });

  it('validates entries', () => {
    expect(parseHostPattern(' API.Example.com ')).toEqual({ ok: true, host: 'api.example.com' });
    expect(parseHostPattern('*.Example.com')).toEqual({ ok: true, host: '*.example.com' });
    expect(parseHostPattern('[2001:db8::1]')).toEqual({ ok: true, host: '[2001:db8::1]' });
    for (const bad of [
      '*',
      '*.com',
      'https://x.example.com',
      'x.example.com:443',
      'x.example.com/p',
      'a b.com',
      '0x7f000001',
      '',
      '*.10.0.0.1',
      'user@x.com',
      'x_y.example.com',
    ]) {
      expect(parseHostPattern(bad).ok, bad).toBe(false);
    }
    expect(parseExactHost('*.example.com').ok).toBe(false);
  });
});

describe('egress: the URL as written', () => {
  it('finds the written host, without userinfo and port', () => {
    expect(writtenAuthority('https://u@API.example.com:8443/x')).toEqual({
      ok: true,
      host: 'api.example.com',
      end: 30,
    });
    expect(writtenAuthority('http://[::1]:80/')).toMatchObject({ host: '[::1]' });
    expect(writtenAuthority('http://a.example.com\\@evil.example/')).toMatchObject({ host: 'a.example.com' });
  });

  it('refuses a placeholder anywhere before the path', () => {
    for (const t of [
      'http://{{ inputs.host }}:9999/',
      'https://api.example.com{{ inputs.p }}/v1',
      'https://api.example.com:{{ inputs.port }}/',
      'https://{{ inputs.user }}@api.example.com/',
      '{{ inputs.scheme }}://api.example.com/',
      'https://api.example.com{{inputs.p}}',
    ]) {
      expect(templatedAuthority(t), t).toMatch(/written literally/);
    }
    for (const t of [
      'https://api.example.com/{{ inputs.p }}',
      'https://api.example.com?q={{ inputs.q }}',
      'https://api.example.com#{{ inputs.f }}',
      'https://api.example.com\\{{ inputs.p }}',
    ]) {
      expect(templatedAuthority(t), t).toBeNull();
    }
  });

  it('spaces inside a placeholder are its own; outside one they are refused', () => {
    expect(hasControlOrSpace('https://api.example.com/{{ inputs.p }}?q={{ inputs.q }}')).toBe(false);
    expect(hasControlOrSpace('https://api.example.com/a b')).toBe(true);
    expect(hasControlOrSpace('https://api.example.com/a\nb')).toBe(true);
  });

  it('says what the deployment allows, for the start-up banner', () => {
    expect(describeEgress({ allowPrivate: false, allowPrivateHosts: [] })).toBe(
      'loopback, private and metadata addresses refused',
    );
    expect(describeEgress({ allowPrivate: false, allowPrivateHosts: ['billing.internal', '10.0.0.7'] })).toBe(
      'loopback, private and metadata addresses refused; except EGRESS_ALLOW_PRIVATE_HOSTS: billing.internal, 10.0.0.7',
    );
    expect(describeEgress({ allowPrivate: true, allowPrivateHosts: [] })).toMatch(/development only/);
  });

  it('reads IPv6 groups correctly', () => {
    expect(ipv6Rule('2606:4700::1111')).toBeNull();
    expect(ipv6Rule('::ffff:10.0.0.1')).toBe('IPv4-mapped IPv6 (10.0.0.1)');
    expect(ipv6Rule('2002:a9fe:a9fe::1')).toBe('IPv4-embedded IPv6 (6to4, 169.254.169.254)');
    expect(ipv6Rule('1:2:3')).toBe('not a valid IPv6 address');
  });
});
