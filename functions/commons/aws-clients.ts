import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * The SQS client for handlers. In AWS it needs nothing. Against a local endpoint
 * (AWS_ENDPOINT_URL: fauxqs or LocalStack), queue URLs name hosts like
 * `sqs.us-east-1.localhost` that may not resolve, so requests go to the endpoint instead.
 */
export function createSqsClient(): SQSClient {
  return new SQSClient(process.env.AWS_ENDPOINT_URL ? { useQueueUrlAsEndpoint: false } : {});
}
