import { randomUUID } from 'node:crypto';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';

/** Any Lambda handler: the same exported `handler` that runs in AWS. */
export type LambdaHandler<E = unknown, R = unknown> = (
  event: E,
  context: Context,
  // biome-ignore lint/suspicious/noExplicitAny: middy handlers declare a third parameter Lambda never passes
  ...rest: any[]
) => Promise<R>;

export class InvocationTimeoutError extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName} timed out after ${timeoutMs} ms`);
    this.name = 'InvocationTimeoutError';
  }
}

/**
 * Prepares this process to run several invocations at once, the way Lambda's
 * multi-concurrency runtime does: per-invocation state (Powertools metrics, idempotency
 * claim tokens) lives in an AsyncLocalStorage-backed InvokeStore. Call before importing
 * any handler module.
 */
export async function initLocalLambdaRuntime(): Promise<void> {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  await InvokeStore.getInstanceAsync(true);
}

/**
 * Invokes `handler` as the Lambda runtime would: inside its own InvokeStore context, with a
 * Context whose remaining time counts down from `timeoutMs`. A handler still running at
 * the deadline is abandoned and the call rejects with {@link InvocationTimeoutError}
 * (in AWS the environment would be shut down; here the promise is simply left behind).
 */
export async function invokeLocally<E, R>(
  handler: LambdaHandler<E, R>,
  event: E,
  options: { functionName: string; timeoutMs: number; requestId?: string },
): Promise<R> {
  const store = await InvokeStore.getInstanceAsync();
  const requestId = options.requestId ?? randomUUID();
  const deadline = Date.now() + options.timeoutMs;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${options.functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new InvocationTimeoutError(options.functionName, options.timeoutMs)),
      options.timeoutMs,
    );
  });
  try {
    const invocation = store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, () =>
      handler(event, context),
    );
    return await Promise.race([invocation, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
