import type { APIGatewayProxyResult } from 'aws-lambda';
import { ATTEMPT_HEADER, attemptFromHeader } from '../../../primitives/attempt-header.ts';
import { attemptLabel, type SERVER_OUTCOME_CLASSES } from '../../../primitives/metric-names.ts';
import { countMetric } from '../powertools.ts';
import { headerValues } from './responses.ts';

type ProxyEvent = Parameters<typeof headerValues>[0];

/**
 * Wraps an API handler so every request is counted server-side, where CloudWatch sees it:
 * `retry_attempt_total{attempt}` from the client's attempt header and
 * `http_request_outcome{class}` from the status actually returned (replays, 409s and
 * problem responses included). A wrapper rather than a middy middleware because an early
 * response from a `before` (an idempotent replay) skips every `after`.
 */
export function withRequestMetrics<E extends ProxyEvent, C>(
  handler: (event: E, context: C) => Promise<APIGatewayProxyResult>,
): (event: E, context: C) => Promise<APIGatewayProxyResult> {
  return async (event, context) => {
    const attempt = attemptFromHeader(headerValues(event, ATTEMPT_HEADER)[0]);
    if (attempt !== undefined)
      countMetric('retry_attempt_total', { attempt: attemptLabel(attempt) });
    try {
      const response = await handler(event, context);
      countMetric('http_request_outcome', { class: outcomeClass(response.statusCode) });
      return response;
    } catch (error) {
      countMetric('http_request_outcome', { class: '5xx' });
      throw error;
    }
  };
}

function outcomeClass(status: number): (typeof SERVER_OUTCOME_CLASSES)[number] {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  return '2xx';
}
