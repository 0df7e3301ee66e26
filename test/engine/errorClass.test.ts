import { describe, expect, it } from 'vitest';
import { classifyError, EXECUTION_ERROR_CODES } from '../../src/engine/errorClass';

describe('classifyError', () => {
  it('classifies network errors and timeouts as retryable', () => {
    expect(classifyError({ kind: 'network', message: 'connection reset' })).toEqual({
      class: 'NETWORK',
      code: 'EXECUTION-001',
      retryable: true,
      message: 'connection reset',
    });
    expect(classifyError({ kind: 'timeout', message: 'no response in 5000 ms' })).toMatchObject({
      class: 'TIMEOUT',
      code: 'EXECUTION-002',
      retryable: true,
    });
  });

  it('classifies HTTP statuses, retrying only 408, 429 and 5xx', () => {
    expect(classifyError({ kind: 'http', status: 503, message: 'unavailable' })).toEqual({
      class: 'HTTP_STATUS',
      code: 'EXECUTION-003',
      retryable: true,
      message: 'unavailable',
      status: 503,
    });
    expect(classifyError({ kind: 'http', status: 429, message: 'slow down' }).retryable).toBe(true);
    expect(classifyError({ kind: 'http', status: 408, message: 'timeout' }).retryable).toBe(true);
    expect(classifyError({ kind: 'http', status: 404, message: 'not found' })).toMatchObject({
      code: 'EXECUTION-003',
      retryable: false,
      status: 404,
    });
    expect(classifyError({ kind: 'http', message: 'no status' })).toMatchObject({
      class: 'HTTP_STATUS',
      retryable: false,
    });
  });

  it.each([
    ['validation', 'VALIDATION', 'EXECUTION-004'],
    ['cancelled', 'CANCELLED', 'EXECUTION-005'],
    ['circuit-open', 'CIRCUIT_OPEN', 'EXECUTION-006'],
    ['approval-rejected', 'APPROVAL_REJECTED', 'EXECUTION-007'],
    ['output-too-large', 'OUTPUT_TOO_LARGE', 'EXECUTION-008'],
    ['egress-denied', 'EGRESS_DENIED', 'EGRESS_DENIED'],
  ] as const)('classifies %s as %s (%s), not retryable', (kind, cls, code) => {
    expect(classifyError({ kind, message: 'x' })).toEqual({
      class: cls,
      code,
      retryable: false,
      message: 'x',
    });
  });

  it('keeps the codes stable and distinct', () => {
    expect(EXECUTION_ERROR_CODES).toEqual({
      NETWORK: 'EXECUTION-001',
      TIMEOUT: 'EXECUTION-002',
      HTTP_STATUS: 'EXECUTION-003',
      VALIDATION: 'EXECUTION-004',
      CANCELLED: 'EXECUTION-005',
      CIRCUIT_OPEN: 'EXECUTION-006',
      APPROVAL_REJECTED: 'EXECUTION-007',
      OUTPUT_TOO_LARGE: 'EXECUTION-008',
      ENGINE: 'EXECUTION-009',
      EGRESS_DENIED: 'EGRESS_DENIED',
    });
  });
});
