import { type EgressPolicyRecord, getEgressPolicy, putEgressPolicyStatement } from '../../db/egressPolicies';
import { checkEgress, type EgressPolicy, MAX_ALLOWED_HOSTS, parseHostPattern } from '../../domain/egress';
import type { WorkflowStep } from '../../domain/workflowSteps';
import { AppError } from '../../errors';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';

/** A tenant's egress allow-list: read by change managers, set by admins, audited. */

export function readEgressPolicy(ctx: AuthedContext): Promise<EgressPolicyRecord> {
  return getEgressPolicy(ctx.db, ctx.principal.tenantId);
}

/** Replaces the allow-list; an empty list clears it (no allow-list). */
export async function setEgressPolicy(
  ctx: AuthedContext,
  allowedHosts: string[],
): Promise<EgressPolicyRecord> {
  if (allowedHosts.length > MAX_ALLOWED_HOSTS) {
    throw new AppError('VALIDATION_FAILED', `At most ${MAX_ALLOWED_HOSTS} allowed hosts`, {
      issues: [{ field: 'allowedHosts', message: `at most ${MAX_ALLOWED_HOSTS} entries` }],
    });
  }
  const hosts: string[] = [];
  const issues: { field: string; message: string }[] = [];
  for (const [i, entry] of allowedHosts.entries()) {
    const parsed = parseHostPattern(entry);
    if (!parsed.ok) issues.push({ field: `allowedHosts.${i}`, message: parsed.message });
    else if (!hosts.includes(parsed.host)) hosts.push(parsed.host);
  }
  if (issues.length) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Invalid egress allow-list: ${issues.map((x) => `${x.field}: ${x.message}`).join('; ')}`,
      { issues },
    );
  }
  const tenantId = ctx.principal.tenantId;
  return commitWithAudit(ctx, async () => {
    const prev = await getEgressPolicy(ctx.db, tenantId);
    const next: EgressPolicyRecord = {
      tenantId,
      allowedHosts: hosts,
      updatedBy: ctx.principal.id,
      updatedAt: ctx.now().toISOString(),
    };
    return {
      statements: [putEgressPolicyStatement(ctx.db, next)],
      audit: [
        {
          action: 'egress_policy.updated',
          targetType: 'EgressPolicy',
          targetId: tenantId,
          before: { allowedHosts: prev.allowedHosts },
          after: { allowedHosts: next.allowedHosts },
        },
      ],
      result: next,
    };
  });
}

/** The deployment's exceptions and the tenant's allow-list, as one policy. */
export async function tenantEgressPolicy(ctx: AuthedContext): Promise<EgressPolicy> {
  const { allowedHosts } = await getEgressPolicy(ctx.db, ctx.principal.tenantId);
  return { ...ctx.egress, allowedHosts };
}

/**
 * Refuses a definition whose HTTP steps would call a host the policy refuses, naming each
 * step's URL field, the host and the rule.
 */
export async function assertEgressAllowed(ctx: AuthedContext, steps: readonly WorkflowStep[]): Promise<void> {
  const urls = steps.flatMap((s, i) => (s.type === 'http-request' ? [{ i, url: s.url }] : []));
  if (urls.length === 0) return;
  const policy = await tenantEgressPolicy(ctx);
  const issues = urls.flatMap(({ i, url }) => {
    const verdict = checkEgress(url, policy);
    return verdict.ok
      ? []
      : [{ field: `steps.${i}.url`, message: verdict.message, host: verdict.host, rule: verdict.rule }];
  });
  if (issues.length) {
    throw new AppError(
      'EGRESS_DENIED',
      `Egress denied: ${issues.map((x) => `${x.field}: ${x.message}`).join('; ')}`,
      { issues },
    );
  }
}
