import { gql, gqlOk } from './graphql';

/** Every field a WorkflowSecret has: none of them is, or could be, its value. */
export const SECRET_FIELDS = 'name allowedHosts keyId createdAt createdBy updatedAt updatedBy';

export const SET_SECRET = `mutation($name: String!, $value: String!, $hosts: [String!]!) {
  setWorkflowSecret(name: $name, value: $value, allowedHosts: $hosts) { ${SECRET_FIELDS} } }`;
export const DELETE_SECRET = `mutation($name: String!) { deleteWorkflowSecret(name: $name) { ${SECRET_FIELDS} } }`;
export const LIST_SECRETS = `{ workflowSecrets { ${SECRET_FIELDS} } }`;

export interface WorkflowSecret {
  name: string;
  allowedHosts: string[];
  keyId: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

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
  return gql<{ setWorkflowSecret: WorkflowSecret }>(SET_SECRET, { name, value, hosts: allowedHosts }, token);
}

export async function listSecrets(token: string): Promise<WorkflowSecret[]> {
  return (await gqlOk<{ workflowSecrets: WorkflowSecret[] }>(LIST_SECRETS, {}, token)).workflowSecrets;
}
