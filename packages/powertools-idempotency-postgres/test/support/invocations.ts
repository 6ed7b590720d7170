import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';

let store: InvokeStoreBase | undefined;

/**
 * Runs `work` as one Lambda invocation would run: inside its own invocation store, which is
 * where the layer keeps the invocation's claim tokens (the Lambda runtime does the same).
 */
export async function asInvocation<T>(requestId: string, work: () => Promise<T>): Promise<T> {
  store ??= await InvokeStore.getInstanceAsync(true);
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, work);
}

/** A Lambda context with a fixed remaining time: what Powertools reads of it. */
export function lambdaContext(remainingMs: number, requestId = 'request'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'payments-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:payments-test',
    memoryLimitInMB: '128',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/payments-test',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
