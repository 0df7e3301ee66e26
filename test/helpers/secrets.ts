import { print } from 'graphql';
import {
  DeleteSecretDocument,
  ListSecretsDocument,
  type SecretFieldsFragment,
  SecretFieldsFragmentDoc,
  SetSecretDocument,
} from '../../operations.generated';
import { fragmentFields, gql, gqlOk } from './graphql';

/** Every field a WorkflowSecret has (SecretFields in secrets.graphql): none of them is, or could be, its value. */
export const SECRET_FIELDS = fragmentFields(SecretFieldsFragmentDoc);

// The operations as text, for tests that send them with arguments of their own.
export const SET_SECRET = print(SetSecretDocument);
export const DELETE_SECRET = print(DeleteSecretDocument);
export const LIST_SECRETS = print(ListSecretsDocument);

/** What the GraphQL type shows of a secret: never its value. */
export type WorkflowSecret = SecretFieldsFragment;

/** Sets a tenant's workflow secret as its admin would (`adminToken` picks the tenant). */
export async function setSecret(
  adminToken: string,
  name: string,
  value: string,
  allowedHosts: string[] = [],
): Promise<WorkflowSecret> {
  const r = await gqlOk(SetSecretDocument, { name, value, hosts: allowedHosts }, adminToken);
  return r.setWorkflowSecret;
}

export function trySetSecret(token: string, name: string, value: string, allowedHosts: string[] = []) {
  return gql(SetSecretDocument, { name, value, hosts: allowedHosts }, { token });
}

export async function listSecrets(token: string): Promise<WorkflowSecret[]> {
  return (await gqlOk(ListSecretsDocument, {}, token)).workflowSecrets;
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
