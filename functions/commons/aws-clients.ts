import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientOptions } from './aws-client-options.ts';

/**
 * The SQS client for handlers. In AWS it needs nothing. Against a local endpoint
 * (AWS_ENDPOINT_URL: fauxqs or LocalStack), queue URLs name hosts like
 * `sqs.us-east-1.localhost` that may not resolve, so requests go to the endpoint instead.
 */
export function createSqsClient(): SQSClient {
  return new SQSClient({
    ...awsClientOptions(),
    ...(process.env.AWS_ENDPOINT_URL ? { useQueueUrlAsEndpoint: false } : {}),
  });
}

/**
 * The EventBridge client, loaded only when a bus is configured (its import costs init time).
 * AWS_ENDPOINT_URL_EVENTBRIDGE points it at a local endpoint in tests.
 */
export async function createEventBridgeClient() {
  const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
  return new EventBridgeClient(awsClientOptions());
}
