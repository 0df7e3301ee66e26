/**
 * Where a workflow secret may be sent: each secret names the hosts it is for (`allowedHosts`),
 * checked when a workflow is saved and again on every attempt, on the rendered URL.
 */

/** Whether a request to `hostname` (as `URL.hostname` gives it) may carry a secret with these hosts. */
export function hostAllowed(hostname: string, allowedHosts: readonly string[]): boolean {
  const host = hostname.toLowerCase();
  return allowedHosts.some((pattern) =>
    pattern.startsWith('*.')
      ? host.length > pattern.length - 1 && host.endsWith(pattern.slice(1))
      : host === pattern,
  );
}

export function hostRefusal(name: string, host: string, allowedHosts: readonly string[]): string {
  const allowed = allowedHosts.length ? allowedHosts.join(', ') : 'no host (its allowedHosts is empty)';
  return `secret ${name} may only be sent to ${allowed}, not to ${host}`;
}

/** A secret opened for one HTTP attempt. */
export interface OpenedSecret {
  value: string;
  allowedHosts: string[];
}
