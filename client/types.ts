/**
 * The wire types of the charge API as a client sees them (SPEC "HTTP contract"). Declared
 * here, not imported from the server, so the client stays a separate deliverable.
 */

/** The body of `POST /charge`. Sent as given: the server is the one that validates it. */
export interface ChargeInput {
  /** Integer minor units, 1..100 000 000. */
  amount: number;
  /** ISO 4217 code from the server's allow-list. */
  currency: string;
  /** 1-64 characters of A-Z, a-z, 0-9, _ and -. */
  customerId: string;
  description?: string;
}

/** The body of a `201 Created` (and of its replays). */
export interface Charge {
  id: string;
  amount: number;
  currency: string;
  customerId: string;
  description: string | null;
  createdAt: string;
}

/** An RFC 9457 `application/problem+json` body: every error the API answers. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

/**
 * The answer a charge ended with. Returned (not thrown) for every answer the client stops
 * at: 2xx, a non-retryable status, or the last retryable status once the attempts are used.
 */
export interface ChargeResult {
  /** `status` is 2xx. */
  ok: boolean;
  status: number;
  /** Parsed JSON ({@link Charge} or {@link Problem}); the raw text if not JSON; null if empty. */
  body: unknown;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** The server answered from its idempotency record (`Idempotent-Replayed: true`). */
  replayed: boolean;
  /** Attempts sent for this logical charge, including the one that produced this answer. */
  attempts: number;
  /** The key every attempt carried; retry with it to continue the same logical charge. */
  idempotencyKey: string;
}

/** Whether `body` is an RFC 9457 problem (has a string `type`, `title` and a numeric `status`). */
export function isProblem(body: unknown): body is Problem {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Problem).type === 'string' &&
    typeof (body as Problem).status === 'number'
  );
}
