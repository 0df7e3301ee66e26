import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../../src/engine/webhookSignature';

/**
 * The headers a sender sets on a signed delivery to `POST /hooks/workflows/:id` (a JSON body),
 * for the workerd tests and the Node ones alike. `timestamp`: seconds, now by default.
 */
export async function signedDeliveryHeaders(
  secret: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER.toLowerCase()]: String(timestamp),
    [SIGNATURE_HEADER.toLowerCase()]: await signWebhook(secret, timestamp, body),
  };
}
