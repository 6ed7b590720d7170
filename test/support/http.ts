import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';

export interface ChargeCall {
  apiKey?: string | undefined;
  idempotencyKey?: string | undefined;
  body?: unknown;
  rawBody?: string;
  contentType?: string | undefined;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: () => Record<string, unknown>;
}

export const VALID_CHARGE = { amount: 1000, currency: 'EUR', customerId: 'cus_1' };

/** POST /charge with exactly the headers given (undefined leaves a header out). */
export async function postCharge(baseUrl: string, call: ChargeCall): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (call.apiKey !== undefined) headers['x-api-key'] = call.apiKey;
  if (call.idempotencyKey !== undefined) headers['Idempotency-Key'] = call.idempotencyKey;
  const contentType = 'contentType' in call ? call.contentType : 'application/json';
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  const response = await fetch(`${baseUrl}/charge`, {
    method: 'POST',
    headers,
    body: call.rawBody ?? JSON.stringify(call.body ?? VALID_CHARGE),
  });
  return answer(response);
}

export async function getJson(baseUrl: string, path: string, apiKey?: string): Promise<HttpAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    headers: apiKey ? { 'x-api-key': apiKey } : {},
  });
  return answer(response);
}

async function answer(response: Response): Promise<HttpAnswer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

export const newKey = (): string => randomUUID();

/**
 * Sends POST /charge and throws the answer away: the connection is destroyed as soon as the
 * response head arrives, so the server has committed and answered but the client never
 * reads the body. Resolves with the status the server sent.
 */
export function postChargeAndLoseResponse(baseUrl: string, call: ChargeCall): Promise<number> {
  const body = JSON.stringify(call.body ?? VALID_CHARGE);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}/charge`,
      {
        method: 'POST',
        headers: {
          'x-api-key': call.apiKey ?? '',
          'Idempotency-Key': call.idempotencyKey ?? '',
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
        agent: false,
      },
      (res) => {
        res.destroy();
        req.destroy();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
