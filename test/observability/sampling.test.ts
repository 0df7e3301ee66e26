import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';
import { otelConfig, traceSampled } from '../../src/runtime/worker/observability';

const SECRET = 's'.repeat(40);
const traced = (ratio?: string) => ({
  JWT_SECRET: SECRET,
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
  ...(ratio === undefined ? {} : { OTEL_TRACES_SAMPLER_ARG: ratio }),
});

describe('OTEL_TRACES_SAMPLER_ARG', () => {
  it('defaults to tracing everything, and takes any share from 0 to 1', () => {
    expect(parseConfig(traced()).observability.otlp?.sampleRatio).toBe(1);
    for (const r of ['0', '0.25', '1']) {
      expect(parseConfig(traced(r)).observability.otlp?.sampleRatio).toBe(Number(r));
    }
  });

  it.each(['-0.1', '1.5', 'half', 'NaN', 'Infinity'])('refuses %s naming the variable', (r) => {
    expect(() => parseConfig(traced(r))).toThrow(ConfigError);
    expect(() => parseConfig(traced(r))).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });

  it("gives the tracer the ratio, and never lets a caller's traceparent decide", () => {
    const config = otelConfig(traced('0.2'), undefined as never);
    expect(config.sampling?.headSampler).toEqual({ ratio: 0.2, acceptRemote: false });
  });

  it("decides a workflow execution's steps from its trace id: none at 0, all at 1, the share between", async () => {
    const ids = await Promise.all(
      Array.from({ length: 2000 }, async (_, i) => {
        const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`exe-${i}`));
        return [...new Uint8Array(digest)]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join('')
          .slice(0, 32);
      }),
    );
    expect(ids.filter((id) => traceSampled(id, 0))).toHaveLength(0);
    expect(ids.filter((id) => traceSampled(id, 1))).toHaveLength(ids.length);
    const share = ids.filter((id) => traceSampled(id, 0.25)).length / ids.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
    // The same id decides the same way every time (all steps of an execution line up).
    expect(ids.map((id) => traceSampled(id, 0.25))).toEqual(ids.map((id) => traceSampled(id, 0.25)));
  });
});
