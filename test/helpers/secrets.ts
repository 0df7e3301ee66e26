import type { WorkflowSecretRecord } from '../../src/db/workflowSecrets';
import { gql, gqlOk } from './graphql';

/** Every field a WorkflowSecret has: none of them is, or could be, its value. */
export const SECRET_FIELDS = 'name allowedHosts keyId createdAt createdBy updatedAt updatedBy';

export const SET_SECRET = `mutation($name: String!, $value: String!, $hosts: [String!]!) {
  setWorkflowSecret(name: $name, value: $value, allowedHosts: $hosts) { ${SECRET_FIELDS} } }`;
export const DELETE_SECRET = `mutation($name: String!) { deleteWorkflowSecret(name: $name) { ${SECRET_FIELDS} } }`;
export const LIST_SECRETS = `{ workflowSecrets { ${SECRET_FIELDS} } }`;

/** What the GraphQL type shows of a secret: the record without its tenant (never a value). */
export type WorkflowSecret = Omit<WorkflowSecretRecord, 'tenantId'>;

/** Sets a tenant's workflow secret as its admin would (`adminToken` picks the tenant). */
export async function setSecret(
  adminToken: string,
  name: string,
  value: string,
  allowedHosts: string[] = [],
): Promise<WorkflowSecret> {
  const r = await gqlOk<{ setWorkflowSecret: WorkflowSecret }>(
    SET_SECRET,
    { name, value, hosts: allowedHosts },
    adminToken,
  );
  return r.setWorkflowSecret;
}

export function trySetSecret(token: string, name: string, value: string, allowedHosts: string[] = []) {
  return gql<{ setWorkflowSecret: WorkflowSecret }>(
    SET_SECRET,
    { name, value, hosts: allowedHosts },
    { token },
  );
}

export async function listSecrets(token: string): Promise<WorkflowSecret[]> {
  return (await gqlOk<{ workflowSecrets: WorkflowSecret[] }>(LIST_SECRETS, {}, token)).workflowSecrets;
}

/** Forms a value could be stored in: as is, JSON-escaped, percent-encoded, base64, and its SHA-256. */
export async function valueForms(value: string): Promise<string[]> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value)));
  return [
    value,
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
    btoa(value),
    [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
  ];
}

/**
 * Reads every row of every table of the D1 database and returns where any of `needles` occurs
 * (and which tables were read, so a test can see the scan was complete).
 */
export async function scanD1(db: D1Database, needles: readonly string[]) {
  const { results } = await db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
    .all<{ name: string }>();
  const hits: string[] = [];
  const tables: string[] = [];
  for (const { name } of results) {
    let rows: Record<string, unknown>[];
    try {
      rows = (await db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all()).results;
    } catch (e) {
      // D1's own bookkeeping tables cannot be read; every table of ours must be.
      if (name.startsWith('_cf_')) continue;
      throw e;
    }
    tables.push(name);
    for (const row of rows) {
      const text = JSON.stringify(row);
      for (const needle of needles) if (text.includes(needle)) hits.push(`${name}: ${text.slice(0, 300)}`);
    }
  }
  return { hits, tables };
}
