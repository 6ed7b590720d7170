/*
 * The one place AWS SDK clients get their timeouts and retries. Kept apart from
 * aws-clients.ts, which imports the SQS client, so a function that needs only the options
 * (the Secrets Manager read at cold start) does not load the SQS SDK at init.
 */

/** Time to open a TCP (and TLS) connection to an AWS endpoint. */
export const AWS_CONNECTION_TIMEOUT_MS = 1_000;
/**
 * Time a request may sit with no bytes from the endpoint before it is abandoned. Above the
 * local event source's 1-second long poll; far above SQS's and EventBridge's normal latency.
 */
export const AWS_REQUEST_TIMEOUT_MS = 3_000;
/** Attempts per call, the first included (the SDK's standard retry mode with backoff). */
export const AWS_MAX_ATTEMPTS = 3;

/**
 * Options every AWS SDK client in the handlers is built with: without them the SDK waits for
 * an answer for ever (its request timeout defaults to none), so an endpoint that accepts a
 * connection and never replies would hang the caller. A call is bounded by about
 * AWS_MAX_ATTEMPTS × (connection + request timeout) plus the retry backoff.
 */
export function awsClientOptions() {
  return {
    maxAttempts: AWS_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: AWS_CONNECTION_TIMEOUT_MS,
      requestTimeout: AWS_REQUEST_TIMEOUT_MS,
      // Without it the SDK only logs a warning when the request timeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  };
}
