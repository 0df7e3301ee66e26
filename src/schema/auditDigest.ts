import type { AuditDigestRecord } from '../db/auditDigests';
import type { Page } from '../domain/pagination';
import {
  AUDIT_DIGEST_PAGE_SIZE,
  auditDigestPage,
  createAuditDigest,
  type DigestOutcome,
} from '../usecases/auditDigests';
import { builder } from './builder';
import { definePage, pageArgs } from './page';

const AuditDigestRef = builder.objectRef<AuditDigestRecord>('AuditDigest').implement({
  description:
    'A signed digest of the tenant’s audit chain, written outside the database (R2): it anchors the events from fromSeq to toSeq. Verify offline with `npm run audit:verify` and the keys at /.well-known/changeflow-audit-keys.json.',
  fields: (t) => ({
    fromSeq: t.exposeInt('fromSeq', { description: 'The first event it covers.' }),
    toSeq: t.exposeInt('toSeq', { description: 'The last event it covers.' }),
    eventCount: t.exposeInt('eventCount'),
    headHash: t.exposeString('headHash', { description: 'The hash of event toSeq.' }),
    previousDigestHash: t.exposeString('previousDigestHash', {
      nullable: true,
      description: 'digestHash of the digest before; null for the first.',
    }),
    digestHash: t.exposeString('digestHash', { description: 'SHA-256 of the signed JSON.' }),
    keyId: t.exposeString('keyId', { description: 'The kid of the key that signed it.' }),
    signature: t.exposeString('signature', { description: 'Ed25519, base64url.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    objectKey: t.exposeString('objectKey', { description: 'Where the archive holds it.' }),
    archivedAt: t.expose('archivedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the archive confirmed it; null until then (the next run writes it again).',
    }),
  }),
});

const AuditDigestPageRef = definePage<AuditDigestRecord, Page<AuditDigestRecord>>(
  'AuditDigestPage',
  AuditDigestRef,
);

const DigestOutcomeRef = builder.objectRef<DigestOutcome>('AuditDigestOutcome').implement({
  description: 'What createAuditDigest did.',
  fields: (t) => ({
    created: t.exposeBoolean('created', {
      description: 'False when nothing was written since the last digest.',
    }),
    digest: t.field({
      type: AuditDigestRef,
      nullable: true,
      description: 'The new digest, else the latest one (null when there is none).',
      resolve: (o) => o.digest,
    }),
  }),
});

builder.queryFields((t) => ({
  auditDigests: t.withAuth({ viewer: true }).field({
    type: AuditDigestPageRef,
    description: 'The signed digests of the tenant’s audit chain, newest first.',
    args: pageArgs(t, AUDIT_DIGEST_PAGE_SIZE),
    resolve: (_r, page, ctx) => auditDigestPage(ctx, page),
  }),
}));

builder.mutationFields((t) => ({
  createAuditDigest: t.withAuth({ admin: true }).field({
    type: DigestOutcomeRef,
    description:
      'Signs and archives a digest of the audit events since the last one now, instead of at the next hour.',
    resolve: (_r, _a, ctx) => createAuditDigest(ctx),
  }),
}));
