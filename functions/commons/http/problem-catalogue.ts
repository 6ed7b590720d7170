/**
 * The one catalogue of the API's problems (RFC 9457): each fault's type, title and status,
 * and the explanation its type URI leads to. The handlers (problem-responses.ts), the local
 * gateway (scripts/local/api-gateway.ts) and the CDK gateway responses
 * (lib/constructs/payments-api.ts) all answer from here, so the same fault gets the same
 * status and type locally and on AWS. docs/problems.md lists the same explanations.
 */

/** One kind of problem the API answers with. */
export interface ProblemType {
  /** The last segment of the type URI: `/problems/{slug}`. */
  slug: string;
  status: number;
  title: string;
  /** What the client did or met, and what to do about it: served at the type URI. */
  explanation: string;
}

const problem = (
  slug: string,
  status: number,
  title: string,
  explanation: string,
): ProblemType => ({ slug, status, title, explanation });

/** Every problem the API can answer, by name. */
export const PROBLEMS = {
  invalidChargeRequest: problem(
    'invalid-charge-request',
    400,
    'The charge request is not valid',
    'The body is not a charge request: not strict JSON (a duplicate member, invalid UTF-8), ' +
      'an amount that is not an integer literal, an unknown field or a value out of range. ' +
      '`errors` names the fields. Nothing was charged and the Idempotency-Key was not used.',
  ),
  invalidIdempotencyKey: problem(
    'invalid-idempotency-key',
    400,
    'The Idempotency-Key header is missing or malformed',
    'Send exactly one Idempotency-Key: an RFC 8941 sf-string ("..."), or the same characters ' +
      'bare; 1-255 characters. Parameters, inner lists and broken quoting are refused. ' +
      '"k" and k are the same key.',
  ),
  unauthenticated: problem(
    'unauthenticated',
    401,
    'No API key',
    'Send your secret API key in the x-api-key header.',
  ),
  forbidden: problem(
    'forbidden',
    403,
    'The API key is not valid',
    'The API key is unknown, revoked, or past its rotation overlap. Use the current key of your ' +
      'client; a rotation gives a new one.',
  ),
  notFound: problem(
    'not-found',
    404,
    'Not found',
    'No such resource or method, or a charge that does not belong to your client.',
  ),
  requestInProgress: problem(
    'request-in-progress',
    409,
    'A request with this Idempotency-Key is still being processed',
    'The first request with this key has not finished. Retry with the same key and body after ' +
      'Retry-After seconds (plus a random delay).',
  ),
  payloadTooLarge: problem(
    'payload-too-large',
    413,
    'The body is too large',
    'The body is over the size limit; nothing was charged.',
  ),
  headersTooLarge: problem(
    'headers-too-large',
    431,
    'The request headers are too large',
    'The request line or headers exceed the server limit; nothing was charged.',
  ),
  unsupportedMediaType: problem(
    'unsupported-media-type',
    415,
    'Unsupported content type',
    'Send the body as application/json in UTF-8 (no other charset).',
  ),
  idempotencyKeyReused: problem(
    'idempotency-key-reused',
    422,
    'The Idempotency-Key was used with a different body',
    'This key was already used with a different request body; nothing was charged. Use a new ' +
      'key for a new charge.',
  ),
  throttled: problem(
    'throttled',
    429,
    'Too many requests',
    "Your client's rate limit was exceeded. Retry with the same key after Retry-After.",
  ),
  quotaExceeded: problem(
    'quota-exceeded',
    429,
    'The API key has used its quota',
    "Your client's quota for the period is used up.",
  ),
  badRequest: problem(
    'bad-request',
    400,
    'The request was rejected',
    'The request could not be read (malformed request line, header or query).',
  ),
  internalError: problem(
    'internal-error',
    500,
    'Internal error',
    'The request could not be completed. It is safe to retry with the same Idempotency-Key.',
  ),
  upstreamTimeout: problem(
    'upstream-timeout',
    504,
    'The request timed out; it is safe to retry with the same Idempotency-Key',
    'The function did not answer in time; the charge may or may not exist. Retry with the same ' +
      'Idempotency-Key and body: you get the charge, made once.',
  ),
} as const satisfies Record<string, ProblemType>;

/** The name of one of {@link PROBLEMS}. */
export type ProblemName = keyof typeof PROBLEMS;

/** The type URI of `problem`: relative, resolved against the API's base URL. */
export function problemTypeUri(problem: ProblemType): string {
  return `/problems/${problem.slug}`;
}

/** The catalogue entry whose type URI path is `path`, if any (for serving the explanations). */
export function problemAt(path: string): ProblemType | undefined {
  return Object.values(PROBLEMS).find((candidate) => problemTypeUri(candidate) === path);
}

/** The problem+json body for `problem` with `detail` (and extra members such as `errors`). */
export function problemBody(
  problem: ProblemType,
  detail: string,
  extra: Record<string, unknown> = {},
  status: number = problem.status,
) {
  return { type: problemTypeUri(problem), title: problem.title, status, detail, ...extra };
}

/** The text a problem type URI leads to (served locally and by API Gateway in AWS). */
export function problemExplanation(problem: ProblemType): string {
  return `${problem.title} (HTTP ${problem.status})\n\n${problem.explanation}\n`;
}
